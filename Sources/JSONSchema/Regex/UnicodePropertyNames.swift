/// Maps `\p{…}` names (General_Category values and common binary properties) to predicates.
/// Scripts (`\p{Script=…}`) are not available from the standard library and are rejected.
enum UnicodePropertyNames {
    static func predicate(for text: String) throws(RegexSyntaxError) -> RegexCharacterSet.Predicate {
        var name = text
        if let equals = text.firstIndex(of: "=") {
            let key = text[..<equals]
            name = String(text[text.index(after: equals)...])
            guard key == "General_Category" || key == "gc" else {
                throw RegexSyntaxError(description: "unsupported Unicode property \(key)")
            }
            guard let categories = generalCategories[name] else {
                throw RegexSyntaxError(description: "unknown General_Category value \(name)")
            }
            return .generalCategories(categories)
        }
        if let categories = generalCategories[name] { return .generalCategories(categories) }
        if let property = binaryProperties[name] { return property }
        throw RegexSyntaxError(description: "unknown Unicode property \(name)")
    }

    private static let binaryProperties: [String: RegexCharacterSet.Predicate] = [
        "Alphabetic": .binaryProperty(.alphabetic), "Alpha": .binaryProperty(.alphabetic),
        "White_Space": .binaryProperty(.whiteSpace), "space": .binaryProperty(.whiteSpace),
        "Uppercase": .binaryProperty(.uppercase), "Upper": .binaryProperty(.uppercase),
        "Lowercase": .binaryProperty(.lowercase), "Lower": .binaryProperty(.lowercase),
        "ASCII": .binaryProperty(.ascii), "Any": .any, "Assigned": .binaryProperty(.assigned),
        "Emoji": .binaryProperty(.emoji), "Hex_Digit": .binaryProperty(.hexDigit), "Hex": .binaryProperty(.hexDigit),
        "ASCII_Hex_Digit": .binaryProperty(.asciiHexDigit), "AHex": .binaryProperty(.asciiHexDigit),
        "Ideographic": .binaryProperty(.ideographic), "Ideo": .binaryProperty(.ideographic),
        "Math": .binaryProperty(.math), "Noncharacter_Code_Point": .binaryProperty(.noncharacter),
        "Dash": .binaryProperty(.dash),
    ]

    private static let generalCategories: [String: [Unicode.GeneralCategory]] = {
        let letters: [Unicode.GeneralCategory] = [
            .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
        ]
        let marks: [Unicode.GeneralCategory] = [.nonspacingMark, .spacingMark, .enclosingMark]
        let numbers: [Unicode.GeneralCategory] = [.decimalNumber, .letterNumber, .otherNumber]
        let punctuation: [Unicode.GeneralCategory] = [
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
        ]
        let symbols: [Unicode.GeneralCategory] = [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
        let separators: [Unicode.GeneralCategory] = [.spaceSeparator, .lineSeparator, .paragraphSeparator]
        let others: [Unicode.GeneralCategory] = [.control, .format, .surrogate, .privateUse, .unassigned]
        let entries: [([String], [Unicode.GeneralCategory])] = [
            (["L", "Letter"], letters),
            (["LC", "Cased_Letter"], [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter]),
            (["Lu", "Uppercase_Letter"], [.uppercaseLetter]),
            (["Ll", "Lowercase_Letter"], [.lowercaseLetter]),
            (["Lt", "Titlecase_Letter"], [.titlecaseLetter]),
            (["Lm", "Modifier_Letter"], [.modifierLetter]),
            (["Lo", "Other_Letter"], [.otherLetter]),
            (["M", "Mark", "Combining_Mark"], marks),
            (["Mn", "Nonspacing_Mark"], [.nonspacingMark]),
            (["Mc", "Spacing_Mark"], [.spacingMark]),
            (["Me", "Enclosing_Mark"], [.enclosingMark]),
            (["N", "Number"], numbers),
            (["Nd", "Decimal_Number", "digit"], [.decimalNumber]),
            (["Nl", "Letter_Number"], [.letterNumber]),
            (["No", "Other_Number"], [.otherNumber]),
            (["P", "Punctuation", "punct"], punctuation),
            (["Pc", "Connector_Punctuation"], [.connectorPunctuation]),
            (["Pd", "Dash_Punctuation"], [.dashPunctuation]),
            (["Ps", "Open_Punctuation"], [.openPunctuation]),
            (["Pe", "Close_Punctuation"], [.closePunctuation]),
            (["Pi", "Initial_Punctuation"], [.initialPunctuation]),
            (["Pf", "Final_Punctuation"], [.finalPunctuation]),
            (["Po", "Other_Punctuation"], [.otherPunctuation]),
            (["S", "Symbol"], symbols),
            (["Sm", "Math_Symbol"], [.mathSymbol]),
            (["Sc", "Currency_Symbol"], [.currencySymbol]),
            (["Sk", "Modifier_Symbol"], [.modifierSymbol]),
            (["So", "Other_Symbol"], [.otherSymbol]),
            (["Z", "Separator"], separators),
            (["Zs", "Space_Separator"], [.spaceSeparator]),
            (["Zl", "Line_Separator"], [.lineSeparator]),
            (["Zp", "Paragraph_Separator"], [.paragraphSeparator]),
            (["C", "Other"], others),
            (["Cc", "Control", "cntrl"], [.control]),
            (["Cf", "Format"], [.format]),
            (["Cs", "Surrogate"], [.surrogate]),
            (["Co", "Private_Use"], [.privateUse]),
            (["Cn", "Unassigned"], [.unassigned]),
        ]
        var table: [String: [Unicode.GeneralCategory]] = [:]
        for (names, categories) in entries {
            for name in names { table[name] = categories }
        }
        return table
    }()
}
