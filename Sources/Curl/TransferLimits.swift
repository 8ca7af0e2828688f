/// Bounds on one transfer's time and response size.
public struct TransferLimits: Sendable, Hashable {
    /// Time to establish TCP and TLS (CURLOPT_CONNECTTIMEOUT_MS).
    public var connectTimeout: Duration
    /// Time for the whole transfer, connect included (CURLOPT_TIMEOUT_MS).
    public var totalTimeout: Duration
    /// A transfer slower than this many bytes per second ...
    public var lowSpeedBytesPerSecond: Int
    /// ... for this long is aborted (CURLOPT_LOW_SPEED_LIMIT / _TIME; whole seconds, at least 1).
    /// A value of 0 bytes per second turns the check off.
    public var lowSpeedWindow: Duration
    /// Response body bytes kept; the rest is read and discarded, and `bodyTruncated` set.
    public var maxResponseBodyBytes: Int

    public init(
        connectTimeout: Duration = .seconds(10),
        totalTimeout: Duration = .seconds(60),
        lowSpeedBytesPerSecond: Int = 64,
        lowSpeedWindow: Duration = .seconds(20),
        maxResponseBodyBytes: Int = 64 * 1024
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.lowSpeedBytesPerSecond = lowSpeedBytesPerSecond
        self.lowSpeedWindow = lowSpeedWindow
        self.maxResponseBodyBytes = maxResponseBodyBytes
    }
}
