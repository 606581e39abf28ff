#pragma once

// Whether this build runs under AddressSanitizer (the unit tests' sanitizer
// build, scripts/test.sh). Unit tests that repeat a scenario for its
// statistics, or over many random seeds, run a share of it there: the
// sanitizers slow such loops 15-25x, the same code paths are checked for
// memory errors and undefined behaviour on the share, and the release build
// runs every test in full.
namespace viewpipe {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace viewpipe
