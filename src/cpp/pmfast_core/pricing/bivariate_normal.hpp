// Bivariate standard normal CDF M(a, b; rho) = P(X < a, Y < b), corr(X, Y) = rho, for the one
// correlation Bjerksund-Stensland 2002 needs: rho = +-sqrt(t1 / T) with t1 = (sqrt(5) - 1)/2 T.
// Drezner-Wesolowsky (1990) Gauss-Legendre quadrature of Plackett's identity in Genz's (2004)
// form (20 nodes for |rho| in [0.75, 0.925)): double precision, about 1e-15 absolute.
#pragma once

#include "pmfast_core/pricing/european.hpp"

namespace pmfast {

namespace bvn_detail {
// Positive Gauss-Legendre nodes and weights of the 20-point rule (symmetric halves).
constexpr double kX20[10] = {0.993128599185095,  0.9639719272779138, 0.912234428251326,
                             0.8391169718222188, 0.7463319064601508, 0.636053680726515,
                             0.5108670019508271, 0.37370608871541955, 0.22778585114164507,
                             0.07652652113349734};
constexpr double kW20[10] = {0.017614007139150893, 0.040601429800386446, 0.06267204833410879,
                             0.08327674157670471,  0.1019301198172407,   0.1181945319615186,
                             0.1316886384491769,   0.1420961093183824,   0.14917298647260424,
                             0.15275338713072628};
constexpr double kTwoPi = 6.283185307179586476925;
}  // namespace bvn_detail

// sqrt((sqrt(5) - 1) / 2): Bjerksund-Stensland 2002's correlation.
constexpr double kBjsRho = 0.78615137775742328607;

PMFAST_ISA_BEGIN
// M(a, b; kBjsRho), or M(a, b; -kBjsRho) if negative_rho. Nodes are precomputed for the fixed
// correlation, and the sum is vectorised (bivariate_normal_simd.cpp, one copy per instruction
// set; the generic bvn_cdf_bjs in pricing_kernels.cpp calls the selected one). Arguments must be finite.
double bvn_cdf_bjs(double a, double b, bool negative_rho);
PMFAST_ISA_END

}  // namespace pmfast
