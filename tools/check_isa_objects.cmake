# Fails the build if a per-ISA object (CMakeLists.txt, PMFAST_ISAS) defines a weak or unique
# symbol: the linker keeps one copy of such a symbol for the whole library, so an AVX-512 copy
# could end up called from baseline code and crash a CPU without AVX-512. Usage:
#   cmake -DNM=nm -DOBJECTS="a.o;b.o" -P check_isa_objects.cmake
set(bad "")
foreach(obj IN LISTS OBJECTS)
  execute_process(COMMAND ${NM} --defined-only ${obj} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${syms}")
  foreach(line IN LISTS lines)
    # W/V/u: weak or unique. DW.ref.__gxx_personality_v0 is a pointer to the one C++ runtime.
    if(line MATCHES " [WVu] " AND NOT line MATCHES "DW\\.ref\\.__gxx_personality_v0")
      string(APPEND bad "  ${obj}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "per-ISA objects define shared symbols (move the code out of the kernel, "
                      "or instantiate the template in dispatch/isa_templates.cpp):\n${bad}")
endif()
