// The generic Node binding of a Verilated model. It is compiled once and linked into every model's
// .node next to that model's glue (see cdna_model.h). Port values are not passed through calls: the
// model's root structure and a sample buffer are exposed as external ArrayBuffers that JavaScript views.
#define NAPI_VERSION 8
#define NAPI_DISABLE_CPP_EXCEPTIONS
#include <napi.h>

#include "cdna_model.h"

namespace {

struct Instance {
  const cdna_model_info* info;
  void* model;
};

// The hot calls use the C API directly: no CallbackInfo object, no argument checks for step().
napi_value Step(napi_env env, napi_callback_info cb) {
  void* data;
  napi_get_cb_info(env, cb, nullptr, nullptr, nullptr, &data);
  auto* inst = static_cast<Instance*>(data);
  if (inst->model) inst->info->tick(inst->model, 1);
  return nullptr;
}

napi_value Tick(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  void* data;
  napi_get_cb_info(env, cb, &argc, argv, nullptr, &data);
  auto* inst = static_cast<Instance*>(data);
  uint32_t n = 1;
  if (argc >= 1) napi_get_value_uint32(env, argv[0], &n);
  if (inst->model) inst->info->tick(inst->model, n);
  return nullptr;
}

napi_value Eval(napi_env env, napi_callback_info cb) {
  void* data;
  napi_get_cb_info(env, cb, nullptr, nullptr, nullptr, &data);
  auto* inst = static_cast<Instance*>(data);
  if (inst->model) inst->info->eval(inst->model);
  return nullptr;
}

Napi::Function Raw(Napi::Env env, const char* name, napi_callback fn, Instance* inst) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, inst, &f);
  return Napi::Function(env, f);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cdna_model_info* m = cdna_model_info_get();
  Napi::Object o = Napi::Object::New(env);
  o.Set("abi", m->abi);
  o.Set("top", m->top);
  o.Set("clock", m->clock ? Napi::Value(Napi::String::New(env, m->clock)) : env.Null());
  o.Set("trace", m->trace == 2 ? "fst" : m->trace == 1 ? "vcd" : "none");
  o.Set("rootSize", m->root_size);
  o.Set("sampleSize", m->sample_size);
  Napi::Array ports = Napi::Array::New(env, m->port_count);
  for (uint32_t i = 0; i < m->port_count; i++) {
    const cdna_port& p = m->ports[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("name", p.name);
    po.Set("dir", p.dir == CDNA_IN ? "input" : p.dir == CDNA_OUT ? "output" : "inout");
    po.Set("width", p.width);
    po.Set("storage", p.storage);
    po.Set("words", p.words);
    po.Set("offset", p.offset);
    po.Set("sampleOffset", p.sample_offset);
    ports.Set(i, po);
  }
  o.Set("ports", ports);
  return o;
}

void DestroyInstance(Instance* inst) {
  if (inst->model) {
    inst->info->destroy(inst->model);
    inst->model = nullptr;
  }
}

// create() or create(randReset, seed): see cdna_create_options.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cdna_model_info* m = cdna_model_info_get();
  cdna_create_options options{0, 0};
  if (info.Length() >= 2 && info[0].IsNumber() && info[1].IsNumber()) {
    options.rand_reset = info[0].As<Napi::Number>().Uint32Value();
    options.seed = info[1].As<Napi::Number>().Uint32Value();
  }
  auto* inst = new Instance{m, m->create(&options)};
  Napi::Object o = Napi::Object::New(env);
  // Freed with the object if the test never calls destroy(); the buffers die with it (same owner).
  o.AddFinalizer(
      [](Napi::Env, Instance* p) {
        DestroyInstance(p);
        delete p;
      },
      inst);
  o.Set("memory", Napi::ArrayBuffer::New(env, m->root(inst->model), m->root_size));
  o.Set("sample", Napi::ArrayBuffer::New(env, m->sample(inst->model), m->sample_size));
  o.Set("step", Raw(env, "step", Step, inst));
  o.Set("tick", Raw(env, "tick", Tick, inst));
  o.Set("eval", Raw(env, "eval", Eval, inst));
  o.Set("traceOpen", Napi::Function::New(
                         env,
                         [](const Napi::CallbackInfo& ci) -> Napi::Value {
                           auto* p = static_cast<Instance*>(ci.Data());
                           if (!p->model || p->info->trace == 0 || !ci[0].IsString()) return Napi::Boolean::New(ci.Env(), false);
                           std::string path = ci[0].As<Napi::String>().Utf8Value();
                           return Napi::Boolean::New(ci.Env(), p->info->trace_open(p->model, path.c_str()) == 0);
                         },
                         "traceOpen", inst));
  o.Set("traceClose", Napi::Function::New(
                          env,
                          [](const Napi::CallbackInfo& ci) {
                            auto* p = static_cast<Instance*>(ci.Data());
                            if (p->model) p->info->trace_close(p->model);
                          },
                          "traceClose", inst));
  o.Set("traceFlush", Napi::Function::New(
                          env,
                          [](const Napi::CallbackInfo& ci) {
                            auto* p = static_cast<Instance*>(ci.Data());
                            if (p->model) p->info->trace_flush(p->model);
                          },
                          "traceFlush", inst));
  o.Set("time", Napi::Function::New(
                    env,
                    [](const Napi::CallbackInfo& ci) -> Napi::Value {
                      auto* p = static_cast<Instance*>(ci.Data());
                      return Napi::BigInt::New(ci.Env(), p->model ? p->info->time(p->model) : uint64_t(0));
                    },
                    "time", inst));
  o.Set("gotFinish", Napi::Function::New(
                         env,
                         [](const Napi::CallbackInfo& ci) -> Napi::Value {
                           auto* p = static_cast<Instance*>(ci.Data());
                           return Napi::Boolean::New(ci.Env(), p->model && p->info->got_finish(p->model) != 0);
                         },
                         "gotFinish", inst));
  o.Set("destroy", Napi::Function::New(
                       env,
                       [](const Napi::CallbackInfo& ci) {
                         auto* p = static_cast<Instance*>(ci.Data());
                         // Detach first so stale JavaScript views read nothing instead of freed memory.
                         Napi::Object self = ci[0].As<Napi::Object>();
                         for (const char* key : {"memory", "sample"}) {
                           Napi::Value b = self.Get(key);
                           if (b.IsArrayBuffer()) napi_detach_arraybuffer(ci.Env(), b);
                         }
                         DestroyInstance(p);
                       },
                       "destroy", inst));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  return exports;
}

}  // namespace

NODE_API_MODULE(cdna_model, Init)
