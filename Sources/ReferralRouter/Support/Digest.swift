import Crypto

/// SHA-256 helpers shared by intake (content hashes), routing (idempotency keys) and audit.
enum Digest {
    static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return Array(hasher.finalize())
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }

    /// A name-based UUID (SHA-256 truncated, version 8 layout): stable for the same inputs, so a
    /// retried payload is byte-identical.
    static func uuid(_ name: String) -> String {
        var bytes = Array(sha256(Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x80
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hexText = hex(bytes)
        let characters = Array(hexText)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The idempotency key of a delivery: stable per (referral, destination) across retries and restarts,
    /// so a partner can drop a repeat. The content hash makes a corrected resubmission under the same
    /// referralId a new delivery, not a repeat the partner would drop.
    static func idempotencyKey(referralId: String, destination: String, contentHash: [UInt8] = []) -> String {
        "rr1-" + hex(sha256(Array("\(referralId)\n\(destination)\n\(hex(contentHash))".utf8)).prefix(16))
    }
}
