import Foundation
import Crypto

/// `mex-content-checksum` checking. MESH passes the sender's value through untouched, so its form
/// varies: `sha256:<hex>`, `md5:<hex>`, `sha1:<hex>`, or a bare hex digest whose length says which.
enum MESHChecksum {
    enum Verdict: Sendable, Equatable {
        case matches
        case mismatch(algorithm: String)
        /// A form the router does not know: the content cannot be checked against it.
        case unverifiable
    }

    static func verify(_ checksum: String, body: [UInt8]) -> Verdict {
        var algorithm: String?
        var digest = checksum.trimmingCharacters(in: .whitespaces).lowercased()
        if let colon = digest.firstIndex(of: ":") {
            algorithm = String(digest[..<colon]).replacingOccurrences(of: "-", with: "")
            digest = String(digest[digest.index(after: colon)...])
        }
        guard !digest.isEmpty, digest.allSatisfy({ $0.isHexDigit }) else { return .unverifiable }
        let byLength: String = switch digest.count {
        case 64: "sha256"
        case 40: "sha1"
        case 32: "md5"
        default: ""
        }
        let name = algorithm ?? byLength
        let actual: String
        switch name {
        case "sha256": actual = Digest.hex(SHA256.hash(data: body))
        case "sha1": actual = Digest.hex(Insecure.SHA1.hash(data: body))
        case "md5": actual = Digest.hex(Insecure.MD5.hash(data: body))
        default: return .unverifiable
        }
        return actual == digest ? .matches : .mismatch(algorithm: name)
    }
}
