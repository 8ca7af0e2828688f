/// The drop convention: agencies write under a temporary name (a leading `.`, or a `.tmp` / `.part`
/// ending) and then rename into place. Temporary names are never read.
enum InboundName {
    static func isInProgress(_ name: String, suffixes: [String]) -> Bool {
        name.hasPrefix(".") || suffixes.contains { name.hasSuffix($0) }
    }

    /// A name the file system gave us that is not valid UTF-8 came back with replacement characters
    /// and cannot be opened by that name; it is reported, not silently skipped.
    static func isUndecodable(_ name: String) -> Bool {
        name.unicodeScalars.contains("\u{FFFD}")
    }
}
