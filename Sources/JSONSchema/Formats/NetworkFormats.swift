/// Host names, IP addresses and email addresses (practical RFC 5321/5322/1123 checks).
enum NetworkFormats {
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return false
            }
            if part.utf8.count > 1 && part.utf8.first == 0x30 { return false }  // no leading zeros
            guard let value = Int(part), value <= 255 else { return false }
        }
        return true
    }

    static func isIPv6(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 45 else { return false }
        var groups = 0
        var head = Substring(text)
        // An embedded IPv4 address may end it, worth two groups.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(text[text.index(after: lastColon)...])) else { return false }
            head = text[...lastColon]
            if head.hasSuffix("::") {
                // fine: "::1.2.3.4"
            } else {
                head = head.dropLast()
            }
            groups += 2
        }
        let compressed = head.components(separatedByDoubleColon: ())
        guard compressed.count <= 2 else { return false }
        for piece in compressed {
            if piece.isEmpty { continue }
            for group in piece.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.utf8.count <= 4, group.utf8.allSatisfy(IdentifierFormats.isHexDigit) else {
                    return false
                }
                groups += 1
            }
        }
        return compressed.count == 2 ? groups <= 7 : groups == 8
    }

    /// RFC 1123 host name: labels of letters, digits and hyphens (no hyphen at either end),
    /// 1–63 characters each, 253 in all. International names may also use non-ASCII letters.
    static func isHostname(_ text: String, international: Bool) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            for scalar in label.unicodeScalars {
                let ascii = scalar.isASCII
                if ascii {
                    guard ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                        || scalar == "-"
                    else { return false }
                } else {
                    guard international else { return false }
                    let category = scalar.properties.generalCategory
                    switch category {
                    case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate,
                        .privateUse, .unassigned, .otherPunctuation, .openPunctuation, .closePunctuation:
                        return false
                    default:
                        if scalar == "\u{3002}" || scalar == "\u{FF0E}" || scalar == "\u{FF61}" { return false }
                    }
                }
            }
        }
        return true
    }

    /// local-part "@" domain: a dot-atom or quoted local part; a host name or address literal.
    static func isEmail(_ text: String, international: Bool) -> Bool {
        guard let at = text.lastIndex(of: "@"), text.utf8.count <= 320 else { return false }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty else { return false }
        if local.hasPrefix("\"") {
            guard local.count >= 2, local.hasSuffix("\"") else { return false }
            var escaped = false
            for scalar in local.unicodeScalars.dropFirst().dropLast() {
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" || scalar.value < 0x20 || scalar.value == 0x7F {
                    return false
                }
            }
            if escaped { return false }
        } else {
            guard local.first != ".", local.last != ".", !local.contains("..") else { return false }
            let specials = Set("!#$%&'*+-/=?^_`{|}~.".unicodeScalars)
            for scalar in local.unicodeScalars {
                if scalar.isASCII {
                    guard ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                        || specials.contains(scalar)
                    else { return false }
                } else if !international {
                    return false
                }
            }
        }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]") else { return false }
            let literal = String(domain.dropFirst().dropLast())
            if literal.hasPrefix("IPv6:") { return isIPv6(String(literal.dropFirst(5))) }
            return isIPv4(literal)
        }
        return isHostname(String(domain), international: international)
    }
}

extension Substring {
    /// Splits at "::" (at most meaningful once in an IPv6 address).
    fileprivate func components(separatedByDoubleColon _: Void) -> [Substring] {
        var pieces: [Substring] = []
        var rest = self
        while let range = rest.firstRange(of: "::") {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }
}
