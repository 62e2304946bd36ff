// Inner loops of the portfolio-margin aggregation (the overlay's are in
// aggregate_concentration.cpp); the arithmetic contract is in aggregate_kernel.hpp.
//
// Why it is shaped this way (medium layout: ~2.1 positions per class, ~1.2 classes per group,
// so per-class and per-group work costs as much as the per-position gather):
// - a class's and a group's scenario vectors live in registers (AVX-512: 8 scenarios per
//   register, AVX2 + FMA: 4; the last one partial), never in memory that has to be zeroed and
//   reloaded; one template (margin_simd) over the two lane widths;
// - the risk-array row (and minimum pair) kPrefetchDistance positions ahead is prefetched: rows
//   are gathered at random, and the loop exits (1 or 2 positions per class) mispredict, which
//   would otherwise stall the gathers;
// - the worst scenario is found branch-free (vector minimum, then the first lane equal to it);
//   a group with a NaN scenario takes the scalar scan so NaN handling stays that of the
//   sequential definition;
// - the per-contract minimum reads one (short, long) pair per instrument and indexes it by the
//   sign of q (a branch on the sign, which is random, cost 25%; two gathers, 15%); the
//   account's worst group is a select.
#include "pmfast_core/aggregate/aggregate_kernel.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace pmfast {
namespace detail {

namespace {

// The sequential worst-scenario scan: the first s attaining the largest -net[s] (a NaN never
// wins a comparison, and a NaN at s = 0 is never beaten).
inline int32_t worst_scenario_scan(const double* net, int64_t S, double* worst_loss) {
  // -net[s] > -best  <=>  net[s] < best, for every value (NaN: both false); selects, no branch
  int32_t worst = 0;
  double best = net[0];
  for (int64_t s = 1; s < S; ++s) {
    const bool lower = net[s] < best;
    best = lower ? net[s] : best;
    worst = lower ? static_cast<int32_t>(s) : worst;
  }
  *worst_loss = -best;
  return worst;
}

// Group and account results of one group, shared by both code paths.
struct AccountTotals {
  double risk = 0.0, minimum = 0.0, requirement = 0.0, worst_risk = 0.0;
  int32_t worst_group = -1;

  inline void add_group(const MarginOutput& out, int64_t g, double worst_loss, int32_t worst,
                        double minimum_g) {
    const double risk_g = 0.0 < worst_loss ? worst_loss : 0.0;        // std::max(0, loss)
    const double req_g = risk_g < minimum_g ? minimum_g : risk_g;     // std::max(risk, min)
    out.group_risk[g] = risk_g;
    out.group_minimum[g] = minimum_g;
    out.group_requirement[g] = req_g;
    out.group_worst[g] = worst;
    risk += risk_g;
    minimum += minimum_g;
    requirement += req_g;
    const bool worse = risk_g > worst_risk;
    worst_risk = worse ? risk_g : worst_risk;
    worst_group = worse ? static_cast<int32_t>(g) : worst_group;
  }

  inline void store(const MarginOutput& out, int64_t a) const {
    out.account_risk[a] = risk;
    out.account_minimum[a] = minimum;
    out.account_requirement[a] = requirement;
    out.account_worst_group[a] = worst_group;
  }
};

// Portable path (any scenario count, any target). NS > 0 fixes the count at compile time: the
// class and group vectors are then local arrays, which the compiler keeps in registers and
// vectorises for whatever the target has.
template <int NS, class Minimum>
void margin_scalar(const MarginLayout& l, const RiskArray& r, Minimum position_minimum,
                   const MarginOutput& out, int64_t a_begin, int64_t a_end) {
  const int64_t S = NS > 0 ? NS : r.n_scenarios;
  std::vector<double> scratch(NS > 0 ? 0 : 2 * S);
  double local[NS > 0 ? 2 * NS : 1];
  double* acc = NS > 0 ? local : scratch.data();
  double* net = acc + S;
  const int64_t last_position = l.n_positions - 1;
  for (int64_t a = a_begin; a < a_end; ++a) {
    AccountTotals acct;
    for (int64_t g = l.account_start[a]; g < l.account_start[a + 1]; ++g) {
      for (int64_t s = 0; s < S; ++s) net[s] = 0.0;
      const double alpha = l.group_offset[g];
      double minimum = 0.0;
      for (int64_t c = l.group_start[g]; c < l.group_start[g + 1]; ++c) {
        for (int64_t s = 0; s < S; ++s) acc[s] = 0.0;
        for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
          const int64_t ahead = std::min(p + kPrefetchDistance, last_position);
          const double* next = r.pnl + int64_t{l.instrument[ahead]} * S;
          for (int64_t s = 0; s < S; s += 8) prefetch(next + s);
          prefetch(next + S - 1);
          const int32_t i = l.instrument[p];
          const double q = l.quantity[p];
          const double* row = r.pnl + static_cast<int64_t>(i) * S;
          for (int64_t s = 0; s < S; ++s) acc[s] = mul_add(q, row[s], acc[s]);
          minimum += position_minimum(i, q);
        }
        if (out.class_pnl) std::copy(acc, acc + S, out.class_pnl + c * S);
        // losses net fully; only a fraction alpha of a class group's gain offsets them (the
        // product rounded before the add: compilers for FMA targets would otherwise fuse them)
        for (int64_t s = 0; s < S; ++s) net[s] += acc[s] < 0.0 ? acc[s] : rounded(alpha * acc[s]);
      }
      if (out.group_net) std::copy(net, net + S, out.group_net + g * S);
      double worst_loss;
      const int32_t worst = worst_scenario_scan(net, S, &worst_loss);
      acct.add_group(out, g, worst_loss, worst, minimum);
    }
    acct.store(out, a);
  }
}

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
// GCC 12 reports its own _mm512_undefined_pd() (inside the min/extract intrinsics) as maybe
// uninitialised; the lanes it leaves undefined are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Lanes of the last, partial register of a row of NS scenarios (0: NS known only at run time).
template <int NS, int W>
constexpr int tail_lanes() { return NS > 0 ? NS - W * ((NS - 1) / W) : 0; }

#if defined(__AVX512F__)
// 8 scenarios per register; a lane mask is a k-register.
struct Lanes8 {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static Mask first(int64_t n) { return static_cast<Mask>(0xFFu >> (8 - n)); }
  static Mask all() { return 0xFF; }
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  // net + (acc < 0 ? acc : alpha acc)
  static V haircut_add(V net, V acc, V alpha) {
    const Mask loss = _mm512_cmp_pd_mask(acc, zero(), _CMP_LT_OQ);
    const V gain = rounded(_mm512_mul_pd(alpha, acc));
    return _mm512_add_pd(net, _mm512_mask_blend_pd(loss, gain, acc));
  }
  static unsigned nan_bits(V v, Mask valid) {
    return _mm512_mask_cmp_pd_mask(valid, v, v, _CMP_UNORD_Q);
  }
  static unsigned eq_bits(V v, V x, Mask valid) {
    return _mm512_mask_cmp_pd_mask(valid, v, x, _CMP_EQ_OQ);
  }
  static V valid_or(V v, Mask valid, V other) { return _mm512_mask_blend_pd(valid, other, v); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static double reduce_min(V v) { return _mm512_reduce_min_pd(v); }

  // the partial register: plain 4-, 2- and 1-lane moves where the count is compiled in (a
  // masked 8-lane load or store was 10% of the whole aggregation on this machine)
  template <int NS>
  static V load_tail(const double* p, Mask tail) {
    constexpr int n = tail_lanes<NS, W>();
    if constexpr (n == 8) {
      return load(p);
    } else if constexpr (n == 0) {
      return _mm512_maskz_loadu_pd(tail, p);
    } else {
      V v = zero();
      if constexpr (n >= 4) v = _mm512_zextpd256_pd512(_mm256_loadu_pd(p));
      constexpr int two = n & 4;        // lanes already loaded
      if constexpr ((n & 2) != 0) {
        const __m128d x = _mm_loadu_pd(p + two);
        v = two ? _mm512_insertf64x2(v, x, 2) : _mm512_zextpd128_pd512(x);
      }
      constexpr int one = n & 6;
      if constexpr ((n & 1) != 0) {
        const __m128d x = _mm_load_sd(p + one);
        if constexpr (one == 0) v = _mm512_zextpd128_pd512(x);
        else v = _mm512_insertf64x2(v, x, one / 2);
      }
      return v;
    }
  }
  template <int NS>
  static void store_tail(double* p, Mask tail, V v) {
    constexpr int n = tail_lanes<NS, W>();
    if constexpr (n == 8) {
      store(p, v);
    } else if constexpr (n == 0) {
      _mm512_mask_storeu_pd(p, tail, v);
    } else {
      if constexpr (n >= 4) _mm256_storeu_pd(p, _mm512_castpd512_pd256(v));
      constexpr int two = n & 4;
      if constexpr ((n & 2) != 0) _mm_storeu_pd(p + two, _mm512_extractf64x2_pd(v, two / 2));
      constexpr int one = n & 6;
      if constexpr ((n & 1) != 0) _mm_store_sd(p + one, _mm512_extractf64x2_pd(v, one / 2));
    }
  }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
// 4 scenarios per register (AVX2 + FMA targets); a lane mask is a vector plus its bits.
struct Lanes4 {
  using V = __m256d;
  struct Mask {
    __m256i vec;
    unsigned bits;
  };
  static constexpr int W = 4;
  static Mask first(int64_t n) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return {_mm256_cmpgt_epi64(_mm256_set1_epi64x(n), lane), (1u << n) - 1};
  }
  static Mask all() { return {_mm256_set1_epi64x(-1), 0xF}; }
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V haircut_add(V net, V acc, V alpha) {
    const V loss = _mm256_cmp_pd(acc, zero(), _CMP_LT_OQ);
    const V gain = rounded(_mm256_mul_pd(alpha, acc));
    return _mm256_add_pd(net, _mm256_blendv_pd(gain, acc, loss));
  }
  static unsigned nan_bits(V v, Mask valid) {
    const V nan = _mm256_cmp_pd(v, v, _CMP_UNORD_Q);
    return static_cast<unsigned>(_mm256_movemask_pd(nan)) & valid.bits;
  }
  static unsigned eq_bits(V v, V x, Mask valid) {
    return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(v, x, _CMP_EQ_OQ))) & valid.bits;
  }
  static V valid_or(V v, Mask valid, V other) {
    return _mm256_blendv_pd(other, v, _mm256_castsi256_pd(valid.vec));
  }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static double reduce_min(V v) {
    const V halves = _mm256_min_pd(v, _mm256_permute2f128_pd(v, v, 1));
    return _mm256_cvtsd_f64(_mm256_min_pd(halves, _mm256_permute_pd(halves, 0b0101)));
  }
  template <int NS>
  static V load_tail(const double* p, Mask tail) {
    constexpr int n = tail_lanes<NS, W>();
    if constexpr (n == 4) return load(p);
    if constexpr (n == 0) return _mm256_maskload_pd(p, tail.vec);
    if constexpr (n == 1) return _mm256_set_m128d(_mm_setzero_pd(), _mm_load_sd(p));
    if constexpr (n == 2) return _mm256_set_m128d(_mm_setzero_pd(), _mm_loadu_pd(p));
    if constexpr (n == 3) return _mm256_set_m128d(_mm_load_sd(p + 2), _mm_loadu_pd(p));
  }
  template <int NS>
  static void store_tail(double* p, Mask tail, V v) {
    constexpr int n = tail_lanes<NS, W>();
    if constexpr (n == 4) store(p, v);
    if constexpr (n == 0) _mm256_maskstore_pd(p, tail.vec, v);
    if constexpr (n == 1) _mm_store_sd(p, _mm256_castpd256_pd128(v));
    if constexpr (n >= 2 && n <= 3) _mm_storeu_pd(p, _mm256_castpd256_pd128(v));
    if constexpr (n == 3) _mm_store_sd(p + 2, _mm256_extractf128_pd(v, 1));
  }
};
#endif

// NV registers of L::W scenarios; the last holds S - W (NV - 1) of them. NS > 0: S is known at
// compile time (the tail moves become plain ones).
template <class L, int NV, int NS, class Minimum>
void margin_simd(const MarginLayout& l, const RiskArray& r, Minimum position_minimum,
                 const MarginOutput& out, int64_t a_begin, int64_t a_end) {
  using V = typename L::V;
  using Mask = typename L::Mask;
  constexpr int W = L::W;
  static_assert(NS == 0 || (NS > W * (NV - 1) && NS <= W * NV), "NS must need NV registers");
  static_assert(W * NV <= 64, "the worst-scenario bit mask holds 64 lanes");
  const int64_t S = NS > 0 ? NS : r.n_scenarios;
  const Mask tail = L::first(S - W * (NV - 1));
  const Mask full = L::all();
  const auto valid = [&](int k) { return k == NV - 1 ? tail : full; };
  const V zero = L::zero();
  const V inf = L::set1(std::numeric_limits<double>::infinity());
  const int32_t* instrument = l.instrument;
  const double* quantity = l.quantity;
  const double* pnl = r.pnl;
  const int64_t last_position = l.n_positions - 1;

  for (int64_t a = a_begin; a < a_end; ++a) {
    AccountTotals acct;
    for (int64_t g = l.account_start[a]; g < l.account_start[a + 1]; ++g) {
      const V alpha = L::set1(l.group_offset[g]);
      V net[NV];
      for (int k = 0; k < NV; ++k) net[k] = zero;
      double minimum = 0.0;
      for (int64_t c = l.group_start[g]; c < l.group_start[g + 1]; ++c) {
        V acc[NV];
        for (int k = 0; k < NV; ++k) acc[k] = zero;
        for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
          const int64_t ahead = std::min(p + kPrefetchDistance, last_position);
          const double* next = pnl + static_cast<int64_t>(instrument[ahead]) * S;
          for (int64_t o = 0; o < S; o += 8) prefetch(next + o);   // every cache line
          prefetch(next + S - 1);
          if (const void* pair = position_minimum.line(instrument[ahead])) prefetch(pair);
          const int64_t i = instrument[p];
          const double q = quantity[p];
          const V vq = L::set1(q);
          const double* row = pnl + i * S;
          for (int k = 0; k < NV; ++k) {
            const V x = k == NV - 1 ? L::template load_tail<NS>(row + W * k, tail)
                                    : L::load(row + W * k);
            acc[k] = L::fmadd(vq, x, acc[k]);
          }
          minimum += position_minimum(i, q);
        }
        if (out.class_pnl) {
          for (int k = 0; k < NV; ++k) {
            double* to = out.class_pnl + c * S + W * k;
            if (k == NV - 1) L::template store_tail<NS>(to, tail, acc[k]);
            else L::store(to, acc[k]);
          }
        }
        // losses net fully; only a fraction alpha of a class group's gain offsets them
        for (int k = 0; k < NV; ++k) net[k] = L::haircut_add(net[k], acc[k], alpha);
      }
      if (out.group_net) {
        for (int k = 0; k < NV; ++k) {
          double* to = out.group_net + g * S + W * k;
          if (k == NV - 1) L::template store_tail<NS>(to, tail, net[k]);
          else L::store(to, net[k]);
        }
      }
      // worst scenario: the first lane equal to the smallest net (NaN: the sequential scan)
      unsigned nan_lanes = 0;
      for (int k = 0; k < NV; ++k) nan_lanes |= L::nan_bits(net[k], valid(k));
      int32_t worst;
      double worst_loss;
      if (__builtin_expect(nan_lanes != 0, 0)) {
        double tmp[W * NV];
        for (int k = 0; k < NV; ++k) L::store(tmp + W * k, net[k]);
        worst = worst_scenario_scan(tmp, S, &worst_loss);
      } else {
        V low = L::valid_or(net[NV - 1], tail, inf);
        for (int k = 0; k < NV - 1; ++k) low = L::min(low, net[k]);
        const double smallest = L::reduce_min(low);
        const V vsmallest = L::set1(smallest);
        uint64_t hit = 0;   // bit s: lane s equals the smallest
        for (int k = 0; k < NV; ++k)
          hit |= static_cast<uint64_t>(L::eq_bits(net[k], vsmallest, valid(k))) << (W * k);
        worst = static_cast<int32_t>(__builtin_ctzll(hit));
        worst_loss = -smallest;
      }
      acct.add_group(out, g, worst_loss, worst, minimum);
    }
    acct.store(out, a);
  }
}

#pragma GCC diagnostic pop
#endif  // AVX-512 or AVX2 + FMA

}  // namespace

void build_minimum_table(const MinimumRule& m, int64_t n_instruments, double* table) {
  for (int64_t i = 0; i < n_instruments; ++i) {
    const double per_unit = m.per_unit[i];
    table[2 * i] = per_unit;
    table[2 * i + 1] = m.long_cap[i] < per_unit ? m.long_cap[i] : per_unit;
  }
}

namespace {

template <class Minimum>
void margin_dispatch(const MarginLayout& l, const RiskArray& r, Minimum mn,
                     const MarginOutput& out, int64_t a_begin, int64_t a_end) {
  const int64_t S = r.n_scenarios;
  // the presets' grids: 10 and 30 points, 11 and 33 with the zero move
#if defined(__AVX512F__)
  using L = Lanes8;
  if (S == 10) return margin_simd<L, 2, 10>(l, r, mn, out, a_begin, a_end);
  if (S == 30) return margin_simd<L, 4, 30>(l, r, mn, out, a_begin, a_end);
  if (S == 11) return margin_simd<L, 2, 11>(l, r, mn, out, a_begin, a_end);
  if (S == 33) return margin_simd<L, 5, 33>(l, r, mn, out, a_begin, a_end);
  if (S <= 8) return margin_simd<L, 1, 0>(l, r, mn, out, a_begin, a_end);
  if (S <= 16) return margin_simd<L, 2, 0>(l, r, mn, out, a_begin, a_end);
  if (S <= 24) return margin_simd<L, 3, 0>(l, r, mn, out, a_begin, a_end);
  if (S <= 32) return margin_simd<L, 4, 0>(l, r, mn, out, a_begin, a_end);
  if (S <= 40) return margin_simd<L, 5, 0>(l, r, mn, out, a_begin, a_end);
#elif defined(__AVX2__) && defined(__FMA__)
  using L = Lanes4;
  if (S == 10) return margin_simd<L, 3, 10>(l, r, mn, out, a_begin, a_end);
  if (S == 30) return margin_simd<L, 8, 30>(l, r, mn, out, a_begin, a_end);
  if (S == 11) return margin_simd<L, 3, 11>(l, r, mn, out, a_begin, a_end);
  if (S == 33) return margin_simd<L, 9, 33>(l, r, mn, out, a_begin, a_end);
  switch ((S + 3) / 4) {   // registers needed
    case 1: return margin_simd<L, 1, 0>(l, r, mn, out, a_begin, a_end);
    case 2: return margin_simd<L, 2, 0>(l, r, mn, out, a_begin, a_end);
    case 3: return margin_simd<L, 3, 0>(l, r, mn, out, a_begin, a_end);
    case 4: return margin_simd<L, 4, 0>(l, r, mn, out, a_begin, a_end);
    case 5: return margin_simd<L, 5, 0>(l, r, mn, out, a_begin, a_end);
    case 6: return margin_simd<L, 6, 0>(l, r, mn, out, a_begin, a_end);
    case 7: return margin_simd<L, 7, 0>(l, r, mn, out, a_begin, a_end);
    case 8: return margin_simd<L, 8, 0>(l, r, mn, out, a_begin, a_end);
    case 9: return margin_simd<L, 9, 0>(l, r, mn, out, a_begin, a_end);
    case 10: return margin_simd<L, 10, 0>(l, r, mn, out, a_begin, a_end);
    default: break;
  }
#else
  if (S == 10) return margin_scalar<10>(l, r, mn, out, a_begin, a_end);
  if (S == 30) return margin_scalar<30>(l, r, mn, out, a_begin, a_end);
#endif
  return margin_scalar<0>(l, r, mn, out, a_begin, a_end);
}

}  // namespace

void margin_account_range(const MarginLayout& l, const RiskArray& r, const MinimumRule& m,
                          const double* minimum_table, const MarginOutput& out, int64_t a_begin,
                          int64_t a_end) {
  if (minimum_table) {
    margin_dispatch(l, r, TableMinimum{minimum_table}, out, a_begin, a_end);
  } else {
    margin_dispatch(l, r, DirectMinimum{m.per_unit, m.long_cap}, out, a_begin, a_end);
  }
}

}  // namespace detail
}  // namespace pmfast
