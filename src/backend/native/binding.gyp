# Native CPU backend of perceiver-ar (Node-API, C++17).
# The AVX2/FMA and AVX-512 kernels live in their own static libraries compiled with ISA flags;
# everything else is compiled for baseline x86-64 (or any other architecture) and the kernels are
# selected at run time with __builtin_cpu_supports. No -march=native, no -ffast-math.
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
          "sources": ["csrc/kernels_avx2.cc"],
          "cflags": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-mavx2", "-mfma"] }
        },
        {
          "target_name": "par_avx512",
          "type": "static_library",
          "sources": ["csrc/kernels_avx512.cc"],
          "cflags": ["-mavx512f", "-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-mavx512f", "-mavx2", "-mfma"] }
        }
      ]
    }]
  ]
}
