/// `url` as it may be logged: the password of its user info replaced with "xxxxx", as Go's
/// `url.URL.Redacted` does ("http://user:xxxxx@host/path"); a user name without a password,
/// and everything else, is kept. Works on the text, so a malformed address is redacted too.
public func redactedURL(_ url: String) -> String {
    // The authority runs from after "scheme://" (or the start) to the first "/", "?" or "#".
    let authorityStart = url.firstRange(of: "://")?.upperBound ?? url.startIndex
    let authorityEnd = url[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
    let authority = url[authorityStart..<authorityEnd]
    // User info ends at the last "@" (a password may itself hold "@"); the password follows its first ":".
    guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
    return String(url[..<url.index(after: colon)]) + "xxxxx" + String(url[at...])
}
