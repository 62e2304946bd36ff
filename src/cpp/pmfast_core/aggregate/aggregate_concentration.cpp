// The concentration overlay's inner loops (aggregate.cpp checks the input and threads over
// accounts): per account, each class group's loss at +-large and +-other, the `largest` class
// groups by large loss taken at it, the others at their small loss, summed in class order.
#include <algorithm>
#include <vector>

#include "pmfast_core/aggregate/aggregate_kernel.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace pmfast {
namespace detail {

namespace {

// Class c's loss at +-large and at +-other: the class P&L over the four scenarios (-large,
// +large, -other, +other), then std::max(0, -std::min(P&L(-x), P&L(+x))) for each size.
inline void class_losses(const MarginLayout& l, const double* pnl, int64_t c,
                         int64_t last_position, double* large, double* other) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256d acc = _mm256_setzero_pd();
  for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
    const int64_t ahead = std::min(p + kPrefetchDistance, last_position);
    prefetch(pnl + int64_t{l.instrument[ahead]} * 4);
    const __m256d row = _mm256_loadu_pd(pnl + int64_t{l.instrument[p]} * 4);
    acc = _mm256_fmadd_pd(_mm256_set1_pd(l.quantity[p]), row, acc);
  }
  // minpd(b, a) = b < a ? b : a = std::min(a, b); maxpd(x, 0) = x > 0 ? x : 0 = std::max(0, x)
  const __m256d swapped = _mm256_permute_pd(acc, 0b0101);
  const __m256d low = _mm256_min_pd(swapped, acc);
  const __m256d loss = _mm256_max_pd(_mm256_xor_pd(low, _mm256_set1_pd(-0.0)), _mm256_setzero_pd());
  *large = _mm256_cvtsd_f64(loss);
  *other = _mm_cvtsd_f64(_mm256_extractf128_pd(loss, 1));
#else
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t p = l.class_start[c]; p < l.class_start[c + 1]; ++p) {
    const int64_t ahead = std::min(p + kPrefetchDistance, last_position);
    prefetch(pnl + int64_t{l.instrument[ahead]} * 4);
    const double q = l.quantity[p];
    const double* row = pnl + int64_t{l.instrument[p]} * 4;
    for (int s = 0; s < 4; ++s) acc[s] = mul_add(q, row[s], acc[s]);
  }
  *large = std::max(0.0, -std::min(acc[0], acc[1]));
  *other = std::max(0.0, -std::min(acc[2], acc[3]));
#endif
}

}  // namespace

void concentration_account_range(const MarginLayout& l, const RiskArray& r, int largest,
                                 double* out, int64_t a_begin, int64_t a_end) {
  // Buffers reused across accounts, grown to the widest account (a few hundred class groups);
  // `chosen` is cleared entry by entry after use.
  std::vector<double> large, other;
  std::vector<char> chosen;
  std::vector<int64_t> order;
  // The `largest` class groups by loss at +-large, ties to the first: a short list kept sorted
  // by (loss descending, index ascending) while scanning, which equals the head of a stable sort
  // (losses are never NaN: std::max(0, NaN) is 0).
  constexpr int kShortList = 8;
  int64_t top_index[kShortList];
  double top_loss[kShortList];
  const int64_t last_position = l.n_positions - 1;
  for (int64_t a = a_begin; a < a_end; ++a) {
    const int64_t c_begin = l.group_start[l.account_start[a]];
    const int64_t n = l.group_start[l.account_start[a + 1]] - c_begin;
    if (static_cast<int64_t>(large.size()) < n) {
      large.resize(n);
      other.resize(n);
      chosen.resize(n, 0);
    }
    for (int64_t k = 0; k < n; ++k)
      class_losses(l, r.pnl, c_begin + k, last_position, &large[k], &other[k]);
    const int64_t top = std::min<int64_t>(n, largest);
    const int64_t* picked = top_index;
    if (top <= kShortList) {
      int64_t kept = 0;
      for (int64_t k = 0; k < n && top > 0; ++k) {
        const double v = large[k];
        if (kept == top && !(v > top_loss[kept - 1])) continue;
        int64_t at = kept == top ? kept - 1 : kept;   // drop the last when full
        while (at > 0 && v > top_loss[at - 1]) {
          top_loss[at] = top_loss[at - 1];
          top_index[at] = top_index[at - 1];
          --at;
        }
        top_loss[at] = v;
        top_index[at] = k;
        kept += kept < top;
      }
    } else {
      order.resize(n);
      for (int64_t k = 0; k < n; ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return large[x] > large[y]; });
      picked = order.data();
    }
    for (int64_t t = 0; t < top; ++t) chosen[picked[t]] = 1;
    double total = 0.0;
    for (int64_t k = 0; k < n; ++k) total += chosen[k] ? large[k] : other[k];
    for (int64_t t = 0; t < top; ++t) chosen[picked[t]] = 0;
    out[a] = total;
  }
}

}  // namespace detail
}  // namespace pmfast
