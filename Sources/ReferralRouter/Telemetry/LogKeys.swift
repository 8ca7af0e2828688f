/// Structured log field names. The journald edge upper-cases them into journal fields
/// (`REFERRAL_ID`, `AGENCY`, ...), so operators can filter with `journalctl REFERRAL_ID=...`.
/// Only identifiers, codes and numbers go in these fields: never a name, date of birth, address,
/// NHS number or free text from a referral.
public enum LogKey {
    public static let event = "event"
    public static let referralId = "referral_id"
    public static let agency = "agency"
    public static let destination = "destination"
    public static let rule = "rule"
    public static let outcome = "outcome"
    public static let attempt = "attempt"
    public static let httpStatus = "http_status"
    public static let code = "code"
    public static let stage = "stage"
    public static let delayMilliseconds = "delay_ms"
    public static let latencyMilliseconds = "latency_ms"
    public static let count = "count"
}
