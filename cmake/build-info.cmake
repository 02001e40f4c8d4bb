# Writes generated/build-info.json (and a C++ header embedding it) with every
# GGML_/WHISPER_ option, the compiler, the build type and the pin.
file(READ "${CMAKE_CURRENT_SOURCE_DIR}/vendor/pin.json" WP_PIN_JSON)
string(STRIP "${WP_PIN_JSON}" WP_PIN_JSON)

get_cmake_property(_wp_vars CACHE_VARIABLES)
list(SORT _wp_vars)
set(WP_OPTIONS "")
foreach(_v ${_wp_vars})
  if(_v MATCHES "^(GGML|WHISPER)_" AND NOT _v MATCHES "_(DIR|PATH|LIB|LIBRARY|INCLUDE|EXECUTABLE|COMPILER)$")
    get_property(_t CACHE ${_v} PROPERTY TYPE)
    if(_t STREQUAL "BOOL" OR _t STREQUAL "STRING")
      set(_val "${${_v}}")
      string(REPLACE "\\" "\\\\" _val "${_val}")
      string(REPLACE "\"" "\\\"" _val "${_val}")
      string(APPEND WP_OPTIONS "    \"${_v}\": \"${_val}\",\n")
    endif()
  endif()
endforeach()
string(REGEX REPLACE ",\n$" "\n" WP_OPTIONS "${WP_OPTIONS}")

set(WP_BACKENDS "\"cpu\"")
foreach(_b CUDA VULKAN OPENCL BLAS METAL HIP SYCL)
  if(GGML_${_b})
    string(TOLOWER ${_b} _lb)
    string(APPEND WP_BACKENDS ", \"${_lb}\"")
  endif()
endforeach()

if(GGML_NATIVE)
  set(WP_VARIANT "native")
else()
  set(WP_VARIANT "generic")
  foreach(_f SSE42 AVX AVX2 FMA F16C BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AVX_VNNI)
    if(GGML_${_f})
      string(TOLOWER ${_f} _lf)
      string(APPEND WP_VARIANT "+${_lf}")
    endif()
  endforeach()
endif()
set(WP_SANITIZE OFF)
if(WHISPER_SANITIZE_ADDRESS OR WHISPER_SANITIZE_THREAD OR WHISPER_SANITIZE_UNDEFINED OR GGML_SANITIZE_ADDRESS OR GGML_SANITIZE_THREAD OR GGML_SANITIZE_UNDEFINED)
  set(WP_SANITIZE ON)
endif()

set(WP_BUILD_JSON "{
  \"pin\": ${WP_PIN_JSON},
  \"buildType\": \"${CMAKE_BUILD_TYPE}\",
  \"compiler\": \"${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}\",
  \"cmakeVersion\": \"${CMAKE_VERSION}\",
  \"system\": \"${CMAKE_SYSTEM_NAME}-${CMAKE_SYSTEM_PROCESSOR}\",
  \"variant\": \"${WP_VARIANT}\",
  \"backends\": [${WP_BACKENDS}],
  \"sanitizer\": \"${WP_SANITIZE}\",
  \"options\": {
${WP_OPTIONS}  }
}
")
# written through configure_file(COPYONLY) so an unchanged configuration touches nothing
# and a reconfigure does not recompile the addon
file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/generated/build-info.json.tmp" "${WP_BUILD_JSON}")
file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/generated/build_info.h.tmp"
  "#pragma once\nstatic const char * WHISPER_PERF_BUILD_INFO = R\"WPJSON(${WP_BUILD_JSON})WPJSON\";\n")
configure_file("${CMAKE_CURRENT_BINARY_DIR}/generated/build-info.json.tmp" "${CMAKE_CURRENT_BINARY_DIR}/generated/build-info.json" COPYONLY)
configure_file("${CMAKE_CURRENT_BINARY_DIR}/generated/build_info.h.tmp" "${CMAKE_CURRENT_BINARY_DIR}/generated/build_info.h" COPYONLY)
