// erf(x) and erfc(x) = 1 - erf(x) to near double precision (JavaScript has no Math.erf).
//
// |x| < 2.5: Maclaurin series  erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1)),
// |x| >= 2.5: erfc by its continued fraction, evaluated bottom-up:
//   erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
// erfc keeps its relative precision for large x (where 1 - erf(x) would round to 0): the normal
// CDF Φ(x) = erfc(-x/√2)/2 of GELU is then accurate deep in the negative tail too.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x; // x^(2n+1) (-1)^n / n!
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  const tail = erfcContinuedFraction(ax);
  return x > 0 ? 1 - tail : tail - 1;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2.5) return erfcContinuedFraction(x);
  if (x <= -2.5) return 2 - erfcContinuedFraction(-x);
  return 1 - erf(x); // erfc(x) >= erfc(2.5) = 4.1e-4 here: no cancellation worth a digit
}

/** erfc(x) for x >= 2.5 by the continued fraction of the header. */
function erfcContinuedFraction(x: number): number {
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + n / 2 / f;
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}
