/// The 2020-12 vocabularies a document's meta-schema enables.
struct Vocabularies: OptionSet {
    let rawValue: UInt8

    static let applicator = Vocabularies(rawValue: 1)
    static let unevaluated = Vocabularies(rawValue: 2)
    static let validation = Vocabularies(rawValue: 4)
    static let format = Vocabularies(rawValue: 8)
    static let core = Vocabularies(rawValue: 16)
    static let other = Vocabularies(rawValue: 32)
    static let all: Vocabularies = [.applicator, .unevaluated, .validation, .format, .core, .other]

    static let named: [String: Vocabularies] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .core,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .other,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .format,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .format,
        "https://json-schema.org/draft/2020-12/vocab/content": .other,
    ]
}
