/// The live dashboard (`GET /dashboard` on the admin listener): one HTML page, its script and its
/// style, compiled into the binary so it works offline and needs no build step. The page holds no
/// data; it asks for the admin token (or takes it from the URL fragment, which never reaches a
/// server log), keeps it in `sessionStorage`, and reads `GET /v1/stream` with it.
enum DashboardPage {
    /// Everything from this origin only, nothing inline: a script injected through some figure the
    /// page shows would not run.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let html = Array(DashboardHTML.text.utf8)
    static let script = Array(DashboardScript.text.utf8)
    static let style = Array(DashboardStyle.text.utf8)
}
