// The C ABI between a generated model glue (one per Verilated design) and the generic Node shim.
// Bump CDNA_MODEL_ABI when this layout changes; the cache key includes this file's text.
#ifndef CDNA_MODEL_H_
#define CDNA_MODEL_H_

#include <cstdint>

#define CDNA_MODEL_ABI 2

enum cdna_dir : uint32_t { CDNA_IN = 0, CDNA_OUT = 1, CDNA_INOUT = 2 };

struct cdna_port {
  const char* name;
  uint32_t dir;
  uint32_t width;          // bits
  uint32_t storage;        // bytes of the C type: 1, 2, 4, 8; or 0 for VlWide (32-bit words)
  uint32_t words;          // 32-bit words the value occupies
  uint32_t offset;         // byte offset of the port in the root structure
  uint32_t sample_offset;  // byte offset of the port in the sample buffer
};

// How create() initializes the model's variables before its first evaluation: Verilator's randReset
// (0: zeros, Verilator's default; 2: random, from `seed`, for models built with --x-initial unique).
struct cdna_create_options {
  uint32_t rand_reset;
  uint32_t seed;
};

struct cdna_model_info {
  uint32_t abi;
  const char* top;
  const char* clock;  // clock port name, or null for a model without one
  uint32_t trace;     // 0: none, 1: VCD, 2: FST
  uint32_t root_size;
  uint32_t sample_size;
  uint32_t port_count;
  const cdna_port* ports;
  void* (*create)(const cdna_create_options* options);
  void (*destroy)(void* inst);
  void* (*root)(void* inst);
  uint8_t* (*sample)(void* inst);
  // n cycles, each: clock low + eval (settle), copy ports to the sample buffer (last cycle only), clock high + eval.
  void (*tick)(void* inst, uint32_t n);
  void (*eval)(void* inst);
  int (*trace_open)(void* inst, const char* path);  // 0 on success
  void (*trace_close)(void* inst);
  void (*trace_flush)(void* inst);
  uint64_t (*time)(void* inst);
  int (*got_finish)(void* inst);
};

extern "C" const cdna_model_info* cdna_model_info_get();

#endif
