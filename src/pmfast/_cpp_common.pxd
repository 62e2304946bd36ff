# C++ declarations shared by every binding area.
from libcpp cimport bool
from libcpp.string cimport string


cdef extern from "pmfast_core/common/build_info.hpp" namespace "pmfast":
    string build_compiler()
    bool build_avx2()
    bool build_openmp()
    int openmp_max_threads()


cdef extern from "pmfast_core/common/interrupt.hpp" namespace "pmfast":
    void interrupt_enter() nogil
    bint interrupt_exit() nogil
