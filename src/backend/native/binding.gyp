# Native CPU backend of perceiver-ar (Node-API, C++17).
# The AVX2/FMA and AVX-512 kernel tables (csrc/kernels_<isa>.cc: the shared templates instantiated
# for one ISA) live in their own static libraries compiled with ISA flags; everything else is
# compiled for baseline x86-64 (or any other architecture) and the table is selected at run time
# with __builtin_cpu_supports (csrc/isa.cc). No -march=native, no -ffast-math.
# scripts/check-kernels.mjs checks the ISA objects and compiles the templates for wasm32.
{
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
    "cflags": ["-O3", "-fPIC", "-fno-math-errno"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "csrc"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CFLAGS": ["-O3"]
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
  },
  "targets": [
    {
      "target_name": "perceiver_ar_native",
      "sources": [
        "csrc/addon.cc",
        "csrc/threadpool.cc",
        "csrc/isa.cc",
        "csrc/kernels_scalar.cc",
        "csrc/gemm.cc",
        "csrc/gemv.cc",
        "csrc/attention.cc",
        "csrc/layernorm.cc",
        "csrc/elementwise.cc",
        "csrc/gather.cc",
        "csrc/rotary.cc",
        "csrc/crossentropy.cc",
        "csrc/adamw.cc"
      ],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["par_avx2", "par_avx512"] }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "par_avx2",
          "type": "static_library",
          "sources": ["csrc/kernels_avx2.cc", "csrc/kernels_avx512_emulated.cc"],
          "cflags": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-mavx2", "-mfma"] }
        },
        {
          "target_name": "par_avx512",
          "type": "static_library",
          "sources": ["csrc/kernels_avx512.cc"],
          # -Wno-*uninitialized: GCC 12's AVX-512 intrinsics warn about their own
          # _mm512_undefined_*() placeholders (a GCC 12 false positive, gone in GCC 13). The same
          # templates are compiled with these warnings on in the other kernel libraries.
          "cflags": ["-mavx512f", "-mavx2", "-mfma", "-Wno-maybe-uninitialized", "-Wno-uninitialized"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-mavx512f", "-mavx2", "-mfma"] }
        }
      ]
    }]
  ]
}
