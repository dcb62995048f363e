// swift-tools-version:6.0
import PackageDescription

/// SwiftPM names a path dependency after its directory, so the gateway package is called whatever
/// the repository was cloned into (`main` here); its products are looked up under that identity.
let gateway = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "gateway").lowercased()

/// libFuzzer targets for the gateway's parsers; see README.md. Build them with
/// `-Xswiftc -sanitize=fuzzer,address` (run.sh does): without the fuzzer runtime they do not link.
let package = Package(
    name: "GatewayFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        /// The libFuzzer driver call, invariant checks and input helpers the targets share.
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzHTTP1",
            dependencies: [
                "FuzzSupport",
                .product(name: "GatewayHTTP1", package: gateway),
                .product(name: "GatewayWebSocket", package: gateway),
            ]
        ),
        .executableTarget(
            name: "FuzzWebSocket",
            dependencies: ["FuzzSupport", .product(name: "GatewayWebSocket", package: gateway)]
        ),
        .executableTarget(
            name: "FuzzInflate",
            dependencies: ["FuzzSupport", .product(name: "GatewayWebSocket", package: gateway)]
        ),
        .executableTarget(
            name: "FuzzJSON",
            dependencies: [
                "FuzzSupport",
                .product(name: "GatewayJSON", package: gateway),
                .product(name: "GatewayCore", package: gateway),
            ]
        ),
        .executableTarget(
            name: "FuzzConfig",
            dependencies: [
                "FuzzSupport",
                .product(name: "GatewayJSON", package: gateway),
                .product(name: "GatewayCore", package: gateway),
            ]
        ),
    ]
)
