import CCurl
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads the leaf certificate's notAfter from CURLINFO_CERTINFO.
enum CertificateExpiry {
    /// The "Expire date" of certificate 0, or nil when curl collected no chain.
    static func leafNotAfter(of easy: UnsafeMutableRawPointer) -> Date? {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard ccurl_easy_getinfo_ptr(easy, CURLINFO_CERTINFO, &info) == CURLE_OK,
              let info, info.pointee.num_of_certs > 0, let lists = info.pointee.certinfo else { return nil }
        var entry = lists[0]
        var visited = 0
        while let current = entry, visited < 256 {
            if let data = current.pointee.data {
                let line = String(cString: data)
                if line.hasPrefix("Expire date:") {
                    return parse(String(line.dropFirst("Expire date:".count)))
                }
            }
            entry = current.pointee.next
            visited += 1
        }
        return nil
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses OpenSSL's ASN1_TIME_print form, "Mar  5 12:00:00 2026 GMT" (fractional seconds allowed).
    static func parse(_ text: String) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 5, words[4] == "GMT",
              let monthIndex = months.firstIndex(of: String(words[0])),
              let day = Int(words[1]), (1...31).contains(day),
              let year = Int(words[3]), (1950...9999).contains(year) else { return nil }
        let clock = words[2].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]),
              let second = Double(clock[2]), (0..<24).contains(hour), (0..<60).contains(minute),
              second >= 0, second < 61 else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(monthIndex)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = 0
        let whole = timegm(&fields)
        guard whole != -1 else { return nil }
        return Date(timeIntervalSince1970: Double(whole) + second)
    }
}
