// swift-tools-version:6.2
import PackageDescription

// Dependencies point one way:
//   referral-router (CLI) → ReferralRouter → JSONSchema, LinuxSystem, Curl → CCurl, LinuxSystem
// Only Curl imports CCurl; only ReferralRouter sees GRDB, TOMLKit and Crypto;
// only the CLI sees ArgumentParser.
let package = Package(
    name: "referral-router",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "referral-router", targets: ["ReferralRouterCLI"]),
        .library(name: "JSONSchema", targets: ["JSONSchema"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // libcurl through pkg-config; Debian: libcurl4-openssl-dev.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // A small HTTPS client over the curl multi interface.
        .target(name: "Curl", dependencies: ["CCurl", "LinuxSystem"]),
        // inotify, fsync, atomic files, sd_notify, journald, credentials: the syscall edge.
        .target(name: "LinuxSystem"),
        // Our JSON Schema 2020-12 validator: pure, no I/O, no logging.
        .target(name: "JSONSchema"),
        // The pipeline: Intake → Validation → Routing → Queue → Delivery → Receipts, Audit.
        .target(
            name: "ReferralRouter",
            dependencies: [
                "JSONSchema", "LinuxSystem", "Curl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ReferralRouterCLI",
            dependencies: [
                "ReferralRouter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema"]),
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem", "TestSupport"]),
        .testTarget(name: "CurlTests", dependencies: ["Curl", "TestSupport"]),
        .testTarget(name: "ReferralRouterTests", dependencies: ["ReferralRouter", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ReferralRouterCLI", "TestSupport"]),
        // The real unit under a real systemd in a private PID+mount namespace (root only).
        .testTarget(name: "SystemdTests", dependencies: ["ReferralRouterCLI", "TestSupport"]),
        // Real parts for tests: temp trees, certificates, an HTTPS partner, child processes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
    ]
)
