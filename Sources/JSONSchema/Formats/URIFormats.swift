/// RFC 3986 URIs and references, RFC 3987 IRIs (non-ASCII allowed), RFC 6570 templates.
enum URIFormats {
    /// Characters allowed anywhere in a URI besides "%" escapes.
    private static func isAllowed(_ scalar: Unicode.Scalar, international: Bool) -> Bool {
        if scalar.isASCII {
            if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) {
                return true
            }
            return "-._~:/?#[]@!$&'()*+,;=".unicodeScalars.contains(scalar)
        }
        guard international else { return false }
        let category = scalar.properties.generalCategory
        switch category {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate, .unassigned:
            return false
        default:
            return true
        }
    }

    static func isURI(_ text: String, requireScheme: Bool, international: Bool) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "%" {
                guard index + 2 < scalars.count, scalars[index + 1].isASCII, scalars[index + 2].isASCII,
                    IdentifierFormats.isHexDigit(UInt8(scalars[index + 1].value)),
                    IdentifierFormats.isHexDigit(UInt8(scalars[index + 2].value))
                else { return false }
                index += 3
                continue
            }
            guard isAllowed(scalar, international: international) else { return false }
            index += 1
        }
        // At most one "#", and "[" "]" only in the authority (IP literals).
        if text.filter({ $0 == "#" }).count > 1 { return false }
        let reference = URIReference(parsing: text)
        if requireScheme && reference.scheme == nil { return false }
        if reference.scheme == nil, let colon = text.firstIndex(of: ":") {
            // A relative reference's first segment must not contain ":" (it would read as a scheme).
            let firstSegment = text[..<(text.firstIndex(where: { "/?#".contains($0) }) ?? text.endIndex)]
            if firstSegment.contains(":") && colon < firstSegment.endIndex { return false }
        }
        if let authority = reference.authority {
            let hostPart = authority.split(separator: "@", maxSplits: 1).last.map(String.init) ?? ""
            if hostPart.contains("[") || hostPart.contains("]") {
                guard hostPart.hasPrefix("["), let close = hostPart.firstIndex(of: "]") else { return false }
                let literal = String(hostPart[hostPart.index(after: hostPart.startIndex)..<close])
                guard NetworkFormats.isIPv6(literal) || literal.hasPrefix("v") else { return false }
                let port = hostPart[hostPart.index(after: close)...]
                guard port.isEmpty || (port.hasPrefix(":") && port.dropFirst().allSatisfy(\.isNumber)) else {
                    return false
                }
            } else if let colon = hostPart.lastIndex(of: ":") {
                guard hostPart[hostPart.index(after: colon)...].allSatisfy(\.isASCII),
                    hostPart[hostPart.index(after: colon)...].allSatisfy(\.isNumber)
                else { return false }
            }
            if authority.filter({ $0 == "@" }).count > 1 { return false }
        }
        if reference.path.contains("[") || reference.path.contains("]") { return false }
        if (reference.query ?? "").contains("[") || (reference.fragment ?? "").contains("[") { return false }
        return true
    }

    /// Balanced, unnested braces with non-empty expressions.
    static func isURITemplate(_ text: String) -> Bool {
        var open = false
        var expressionLength = 0
        for scalar in text.unicodeScalars {
            switch scalar {
            case "{":
                if open { return false }
                open = true
                expressionLength = 0
            case "}":
                if !open || expressionLength == 0 { return false }
                open = false
            default:
                if open { expressionLength += 1 }
                if scalar.value < 0x20 || scalar == " " { return false }
            }
        }
        return !open
    }
}
