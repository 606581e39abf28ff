#include "event/rfc3339.h"

#include "event/parser.h"

namespace viewpipe {
namespace {

// Reads n decimal digits at s[*pos], advancing *pos.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (s.size() - *pos < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char a, char b = '\0') {
  if (*pos >= s.size() || (s[*pos] != a && (b == '\0' || s[*pos] != b))) return false;
  ++*pos;
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// ".ddd..." -> milliseconds (first three digits); at least one digit.
bool Fraction(std::string_view s, size_t* pos, int* ms) {
  *ms = 0;
  if (*pos >= s.size() || s[*pos] != '.') return true;
  ++*pos;
  size_t digits = 0;
  int scale = 100;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
    if (digits < 3) *ms += (s[*pos] - '0') * scale;
    scale /= 10;
    ++digits;
    ++*pos;
  }
  return digits > 0;
}

// "Z" or "+hh:mm" / "-hh:mm" -> offset east of UTC in minutes.
bool Offset(std::string_view s, size_t* pos, int* minutes) {
  if (Expect(s, pos, 'Z', 'z')) {
    *minutes = 0;
    return true;
  }
  if (*pos >= s.size() || (s[*pos] != '+' && s[*pos] != '-')) return false;
  const int sign = s[(*pos)++] == '-' ? -1 : 1;
  int hh = 0, mm = 0;
  if (!Digits(s, pos, 2, &hh) || !Expect(s, pos, ':') || !Digits(s, pos, 2, &mm)) return false;
  if (hh > 23 || mm > 59) return false;
  *minutes = sign * (hh * 60 + mm);
  return true;
}

}  // namespace

bool ParseRfc3339Ms(std::string_view s, int64_t* ms) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac_ms = 0, offset_min = 0;
  if (!Digits(s, &pos, 4, &y) || !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &mo) ||
      !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &d) || !Expect(s, &pos, 'T', 't') ||
      !Digits(s, &pos, 2, &h) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &mi) ||
      !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &sec) || !Fraction(s, &pos, &frac_ms) ||
      !Offset(s, &pos, &offset_min) || pos != s.size()) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) {
    return false;
  }
  const int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                          static_cast<int64_t>(offset_min) * 60;
  *ms = seconds * 1000 + frac_ms;
  return true;
}

Result<int64_t> ParseRfc3339(std::string_view s) {
  int64_t ms;
  if (!ParseRfc3339Ms(s, &ms)) return Status::InvalidArgument("not an RFC 3339 date-time");
  return ms;
}

}  // namespace viewpipe
