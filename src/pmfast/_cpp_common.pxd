# C++ declarations shared by every binding area.
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector


cdef extern from "pmfast_core/common/build_info.hpp" namespace "pmfast":
    string build_compiler()
    bool build_avx2()
    bool build_native()
    bool build_openmp()
    int openmp_max_threads()
    string kernel_isa()
    string cpu_best_isa()
    vector[string] cpu_isas()
    void select_kernel_isa(const string& name) except +


cdef extern from "pmfast_core/common/interrupt.hpp" namespace "pmfast":
    void interrupt_enter() nogil
    bint interrupt_exit() nogil
