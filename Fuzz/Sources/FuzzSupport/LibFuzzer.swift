#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The signature of `LLVMFuzzerTestOneInput`.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

/// libFuzzer's entry point for programs that bring their own `main` (LLVM ≥ 11).
///
/// SwiftPM links a Swift executable with its `main` renamed (`-entry-point-function-name`, then
/// `--defsym main=<Target>_main`), so libFuzzer's own `main` cannot be used: each target's
/// `main.swift` hands its `LLVMFuzzerTestOneInput` to this driver instead. The flags are libFuzzer's.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzTarget
) -> CInt

/// Runs libFuzzer with the process's arguments and exits with its status.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}

/// Fails the run when an invariant does not hold: prints why and aborts, which libFuzzer reports as
/// a crash and saves the input (`crash-<sha1>`).
@inline(never)
public func invariantFailed(_ message: String, file: StaticString = #file, line: UInt = #line) -> Never {
    let text = "INVARIANT FAILED (\(file):\(line)): \(message)\n"
    _ = text.utf8.withContiguousStorageIfAvailable { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// Checks an invariant; see `invariantFailed`.
@inline(__always)
public func check(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line
) {
    if !condition { invariantFailed(message(), file: file, line: line) }
}
