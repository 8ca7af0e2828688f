/// A pattern that is not valid ECMA-262 (Unicode mode) syntax, or too large to compile.
struct RegexSyntaxError: Error, Sendable, CustomStringConvertible {
    var description: String
}
