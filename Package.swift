// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares. `ExistentialAny`, `MemberImportVisibility` and
/// `InternalImportsByDefault` keep boxing visible and module boundaries honest (see STYLE.md).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Dynamic exclusivity checks cost ~16% of the instructions per message (callgrind, json echo):
    // every class property passed inout registers an access in a thread-local set. Debug builds, which
    // every test and sanitizer run uses, keep the checks (they caught a real bug); release drops them.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["GatewayServer"]),
        .executable(name: "gateway-bench", targets: ["GatewayBench"]),
        .library(name: "GatewayHTTP1", targets: ["GatewayHTTP1"]),
        .library(name: "GatewayWebSocket", targets: ["GatewayWebSocket"]),
        .library(name: "GatewayJSON", targets: ["GatewayJSON"]),
        .library(name: "GatewayCore", targets: ["Gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C shims: the only module that includes liburing, libcurl, hiredis, OpenSSL, zlib, c-ares and the Linux socket
        // headers, so Clang sees glibc's headers through one module (see ../shared/notes/io_uring.md).
        .target(
            name: "CGatewayShims",
            linkerSettings: [
                .linkedLibrary("uring"), .linkedLibrary("curl"), .linkedLibrary("hiredis"), .linkedLibrary("crypto"), .linkedLibrary("ssl"),
                .linkedLibrary("z"), .linkedLibrary("cares"),
            ]
        ),
        .target(name: "GatewayBuffers", swiftSettings: swiftSettings),
        .target(name: "GatewayIO", dependencies: ["CGatewayShims", "GatewayBuffers"], swiftSettings: swiftSettings),
        .target(name: "GatewayHTTP1", dependencies: ["GatewayBuffers"], swiftSettings: swiftSettings),
        // CGatewayShims for zlib (permessage-deflate), so gateway-bench can reuse the same wrappers.
        .target(name: "GatewayWebSocket", dependencies: ["CGatewayShims", "GatewayBuffers", "GatewayHTTP1"], swiftSettings: swiftSettings),
        .target(name: "GatewayJSON", dependencies: ["GatewayBuffers"], swiftSettings: swiftSettings),
        .target(
            name: "GatewayBackend",
            dependencies: ["CGatewayShims", "GatewayIO", "GatewayBuffers", "GatewayHTTP1"],
            swiftSettings: swiftSettings
        ),
        // The Redis client for the cluster engine (DESIGN §8): hiredis parses and formats, the loop
        // carries the bytes.
        .target(
            name: "GatewayRedis",
            dependencies: ["CGatewayShims", "GatewayIO", "GatewayBuffers"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayBuffers", "GatewayIO", "GatewayHTTP1", "GatewayWebSocket", "GatewayJSON", "GatewayBackend", "GatewayRedis",
                "CGatewayShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GatewayServer",
            dependencies: [
                "Gateway", "GatewayIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GatewayBench",
            dependencies: [
                "GatewayIO", "GatewayHTTP1", "GatewayWebSocket", "GatewayBuffers",
                // timerfd for the open-loop pacer (PacingTimer).
                "CGatewayShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the Swift test targets: the fake engine, `availableEngines()`, `SendableBox`.
        .target(name: "GatewayTestSupport", dependencies: ["GatewayIO", "GatewayBackend"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayBuffersTests", dependencies: ["GatewayBuffers"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayIOTests", dependencies: ["GatewayIO", "CGatewayShims", "GatewayTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayHTTP1Tests", dependencies: ["GatewayHTTP1"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayWebSocketTests", dependencies: ["GatewayWebSocket"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayJSONTests", dependencies: ["GatewayJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayBackendTests", dependencies: ["GatewayBackend", "GatewayIO", "GatewayTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayRedisTests",
            dependencies: ["GatewayRedis", "GatewayIO", "GatewayBuffers", "GatewayTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayHTTP1", "GatewayIO", "GatewayWebSocket", "GatewayBuffers", "GatewayTestSupport", "CGatewayShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Unit tests of gateway-bench's pure parts (histogram, open-loop schedule, option parsing), through
        // `@testable import` of the executable target.
        .testTarget(
            name: "GatewayBenchTests",
            dependencies: ["GatewayBench", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
    ]
)
