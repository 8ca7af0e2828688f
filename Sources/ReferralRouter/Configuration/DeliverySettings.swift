/// `[delivery]` defaults, each overridable per `[[destination]]`. Every figure here is a documented
/// knob (docs/configuration.md); the defaults follow Postfix and Vector: keep trying for days, back
/// off with full jitter, pause a failing partner without slowing the others.
public struct DeliverySettings: Sendable, Hashable {
    /// Transfers in flight to one destination at once.
    public var maxInFlight: Int = 8
    public var connectTimeout: Duration = .seconds(10)
    public var totalTimeout: Duration = .seconds(60)
    /// A transfer slower than `lowSpeedBytesPerSecond` for `lowSpeedWindow` is cut off and retried.
    public var lowSpeedBytesPerSecond: Int = 64
    public var lowSpeedWindow: Duration = .seconds(20)
    /// Full-jitter exponential backoff: wait random(0, min(cap, base·2^attempt)).
    public var retryBase: Duration = .seconds(1)
    public var retryCap: Duration = .seconds(300)
    /// A partner's `Retry-After` is honoured as a floor, clamped to this.
    public var retryAfterMax: Duration = .seconds(3600)
    /// 0 means no limit other than `maxAge`.
    public var maxAttempts: Int = 0
    /// A delivery not made within this long of acceptance is dead-lettered (MESH and Postfix: 5 days).
    public var maxAge: Duration = .seconds(120 * 3600)
    /// Consecutive failures that open the destination's circuit breaker.
    public var breakerFailureThreshold: Int = 5
    /// How long an open breaker waits before one probe.
    public var breakerCooldown: Duration = .seconds(30)
    /// After a TLS verification or pin failure nothing is sent; it is retried this slowly.
    public var tlsFailureRetry: Duration = .seconds(600)
    /// Warn when the partner's certificate expires within this many days.
    public var certificateExpiryWarningDays: Int = 30

    public init() {}

    static let keys = [
        "max_in_flight", "connect_timeout_seconds", "total_timeout_seconds", "low_speed_bytes_per_second",
        "low_speed_window_seconds", "retry_base_seconds", "retry_cap_seconds", "retry_after_max_seconds",
        "max_attempts", "max_age_hours", "breaker_failure_threshold", "breaker_cooldown_seconds",
        "tls_failure_retry_seconds", "certificate_expiry_warning_days",
    ]

    /// Reads the keys present in `table` over `base`.
    static func read(_ table: ConfigTable, over base: DeliverySettings) -> DeliverySettings {
        var settings = base
        settings.maxInFlight = table.integer("max_in_flight", default: base.maxInFlight, range: 1...1024)
        settings.connectTimeout = table.seconds("connect_timeout_seconds", default: base.connectTimeout.seconds, range: 0.1...600)
        settings.totalTimeout = table.seconds("total_timeout_seconds", default: base.totalTimeout.seconds, range: 0.5...3600)
        settings.lowSpeedBytesPerSecond = table.integer("low_speed_bytes_per_second", default: base.lowSpeedBytesPerSecond, range: 1...(1 << 30))
        settings.lowSpeedWindow = table.seconds("low_speed_window_seconds", default: base.lowSpeedWindow.seconds, range: 1...3600)
        settings.retryBase = table.seconds("retry_base_seconds", default: base.retryBase.seconds, range: 0.01...3600)
        settings.retryCap = table.seconds("retry_cap_seconds", default: base.retryCap.seconds, range: 0.01...86400)
        settings.retryAfterMax = table.seconds("retry_after_max_seconds", default: base.retryAfterMax.seconds, range: 0...86400)
        settings.maxAttempts = table.integer("max_attempts", default: base.maxAttempts, range: 0...1_000_000)
        settings.maxAge = table.seconds("max_age_hours", default: base.maxAge.seconds / 3600, range: 0.001...8760) * 3600
        settings.breakerFailureThreshold = table.integer("breaker_failure_threshold", default: base.breakerFailureThreshold, range: 1...10_000)
        settings.breakerCooldown = table.seconds("breaker_cooldown_seconds", default: base.breakerCooldown.seconds, range: 0.01...86400)
        settings.tlsFailureRetry = table.seconds("tls_failure_retry_seconds", default: base.tlsFailureRetry.seconds, range: 1...86400)
        settings.certificateExpiryWarningDays = table.integer("certificate_expiry_warning_days", default: base.certificateExpiryWarningDays, range: 0...3650)
        if settings.retryCap < settings.retryBase {
            table.problem("retry_cap_seconds", "must not be less than retry_base_seconds")
        }
        if settings.totalTimeout < settings.connectTimeout {
            table.problem("total_timeout_seconds", "must not be less than connect_timeout_seconds")
        }
        return settings
    }
}

extension Duration {
    /// Seconds as a Double, for configuration arithmetic and display.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
