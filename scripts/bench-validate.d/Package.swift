// swift-tools-version:6.2
import PackageDescription

// The benchmark for scripts/bench-validate. Sources/JSONSchema is a symlink to the module's
// real sources, created by the script at run time (it is not committed).
let package = Package(
    name: "jsonschema-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "JSONSchema"),
        .executableTarget(name: "jsonschema-bench", dependencies: ["JSONSchema"]),
    ]
)
