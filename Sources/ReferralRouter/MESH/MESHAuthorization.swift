import Crypto
import Foundation

/// The `NHSMESH` authorization header, fresh for every request:
/// `NHSMESH <mailbox>:<nonce>:<nonce_count>:<yyyyMMddHHmm>:<hex HMAC-SHA256(shared key,
/// "mailbox:nonce:nonce_count:password:timestamp")>`.
enum MESHAuthorization {
    static func header(mailbox: String, password: String, sharedKey: [UInt8], now: Timestamp,
                       nonce: String = UUID().uuidString.lowercased(), nonceCount: Int = 0) -> String {
        let timestamp = meshTimestamp(now)
        let message = "\(mailbox):\(nonce):\(nonceCount):\(password):\(timestamp)"
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: sharedKey))
        hmac.update(data: Array(message.utf8))
        let digest = Digest.hex(hmac.finalize())
        return "NHSMESH \(mailbox):\(nonce):\(nonceCount):\(timestamp):\(digest)"
    }

    /// `yyyyMMddHHmm` in UTC.
    static func meshTimestamp(_ time: Timestamp) -> String {
        let text = time.rfc3339   // 2026-11-25T17:15:51.123Z
        let digits = text.prefix(16).filter(\.isASCIIDigit)
        return String(digits)
    }
}
