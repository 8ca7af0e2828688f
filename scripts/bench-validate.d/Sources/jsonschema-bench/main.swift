// Measures parse + validate of one referral against one schema, on whatever CPU the caller pins
// it to. Usage: jsonschema-bench <schema.json> <instance.json> [seconds]
// Prints key=value lines; the script reads `validations_per_s`.
import Foundation
import JSONSchema

func readBytes(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
        exit(2)
    }
    return [UInt8](data)
}

let arguments = CommandLine.arguments

// `--check <schema> <file>...`: print each file's validation errors (a development aid).
if arguments.count >= 3, arguments[1] == "--check" {
    var options = SchemaOptions()
    options.assertFormats = true
    do {
        let schema = try Schema(parsing: readBytes(arguments[2]), options: options)
        for path in arguments.dropFirst(3) {
            do {
                let result = schema.validate(try JSONDocument(parsing: readBytes(path)))
                print("\(path): \(result.isValid ? "valid" : "INVALID")")
                for error in result.errors { print("    \(error)") }
            } catch {
                print("\(path): not JSON: \(error) [\(error.code.rawValue)]")
            }
        }
    } catch {
        print("schema error: \(error)")
        exit(1)
    }
    exit(0)
}

// `--count <n> <schema> <instance>`: exactly n parse+validate rounds, for instruction counting
// with `perf stat` (stable on a busy machine, unlike wall-clock rates).
if arguments.count >= 5, arguments[1] == "--count", let rounds = Int(arguments[2]) {
    var options = SchemaOptions()
    options.assertFormats = true
    let schema = try Schema(parsing: readBytes(arguments[3]), options: options)
    let instance = readBytes(arguments[4])
    var valid = 0
    for _ in 0..<rounds where schema.isValid(try JSONDocument(parsing: instance).root) { valid += 1 }
    print("valid=\(valid)")
    exit(0)
}

guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: jsonschema-bench <schema.json> <instance.json> [seconds]\n".utf8))
    exit(2)
}
let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 3 : 3
var options = SchemaOptions()
options.assertFormats = true
let schema: Schema
do {
    schema = try Schema(parsing: readBytes(arguments[1]), options: options)
} catch {
    FileHandle.standardError.write(Data("schema error: \(error)\n".utf8))
    exit(1)
}
let instance = readBytes(arguments[2])

// The instance must be valid, so that the loop measures the full evaluation.
do {
    let document = try JSONDocument(parsing: instance)
    let result = schema.validate(document)
    guard result.isValid else {
        for error in result.errors { FileHandle.standardError.write(Data("\(error)\n".utf8)) }
        exit(1)
    }
} catch {
    FileHandle.standardError.write(Data("instance error: \(error)\n".utf8))
    exit(1)
}

/// Runs `body` in batches until `seconds` have passed; returns operations per second.
func measure(seconds: Double, _ body: () -> Bool) -> Double {
    let clock = ContinuousClock()
    var operations = 0
    var failures = 0
    // Warm up.
    for _ in 0..<200 where !body() { failures += 1 }
    let start = clock.now
    let deadline = start + .milliseconds(Int(seconds * 1000))
    var now = start
    while now < deadline {
        for _ in 0..<100 where !body() { failures += 1 }
        operations += 100
        now = clock.now
    }
    precondition(failures == 0, "the benchmark instance stopped validating")
    let elapsed = now - start
    let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return Double(operations) / secondsElapsed
}

let parseOnly = measure(seconds: seconds / 3) {
    (try? JSONDocument(parsing: instance)) != nil
}
let parsed = try JSONDocument(parsing: instance).root
let validateOnly = measure(seconds: seconds / 3) {
    schema.isValid(parsed)
}
let both = measure(seconds: seconds) {
    guard let document = try? JSONDocument(parsing: instance) else { return false }
    return schema.isValid(document.root)
}
print("parse_per_s=\(Int(parseOnly))")
print("validate_only_per_s=\(Int(validateOnly))")
print("validations_per_s=\(Int(both))")
