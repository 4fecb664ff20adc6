// Instants written as RFC 3339 / ISO 8601 date-times. Two strings are the same
// instant when they name the same point in time, whatever the offset:
// `2024-01-01T00:00:00Z` = `2024-01-01T08:00:00+08:00`. Fractions are kept as
// digits rather than milliseconds so that microsecond differences still show.

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * A canonical UTC form of `text` (`2024-01-01T00:00:00.5Z`), or undefined when
 * it is not a date-time. A time without an offset is read as UTC, so that the
 * result never depends on the gateway host's time zone.
 */
export function canonicalInstant(text: string): string | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', , sign, oh, om] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 24 || Number(mi) > 59) {
    return undefined;
  }
  let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  if (sign) ms -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  if (!Number.isFinite(ms)) return undefined;
  const whole = new Date(ms).toISOString().slice(0, 19);
  const digits = frac.replace(/0+$/, '');
  return digits === '' ? `${whole}Z` : `${whole}.${digits}Z`;
}
