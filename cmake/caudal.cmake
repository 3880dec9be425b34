# Shared compile settings and helpers for every Caudal target.

add_library(caudal_flags INTERFACE)
target_compile_options(caudal_flags INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor)
target_include_directories(caudal_flags INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(caudal_flags INTERFACE
  CAUDAL_VERSION="${PROJECT_VERSION}")

# Layers where integer widths are the format also get -Wconversion.
add_library(caudal_strict_flags INTERFACE)
target_compile_options(caudal_strict_flags INTERFACE -Wconversion -Wsign-conversion)

if(CAUDAL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CAUDAL_FUZZ)
  # Everything is instrumented for coverage so libFuzzer can steer inside the libraries;
  # only the fuzz targets link the fuzzer's main (-fsanitize=fuzzer on their own link).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CAUDAL_SIM)
  add_compile_definitions(CAUDAL_SIM=1)
endif()

# caudal_test(NAME name SOURCES ... LIBS ... [TIMEOUT s] [LABELS ...])
# One ctest per test binary: each binary runs its whole GoogleTest suite.
function(caudal_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE caudal_flags ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
