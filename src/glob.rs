//! Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET, COMMAND LIST PATTERN): one matcher for
//! every room that filters names.

/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, `\` escapes.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    if s.is_empty() {
        // stringmatchlen() never enters its loop for an empty string: only an empty pattern matches.
        // Every caller of Redis's skips matching for the pattern "*" (KEYS, SCAN, xSCAN), so it matches
        // everything, the empty name included.
        return pattern.is_empty() || pattern == b"*";
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    // Backtracking point for the last '*': (pattern index after '*', string index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' if i < s.len() => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' if i < s.len() => {
                    let mut q = p + 1;
                    let not = q < pattern.len() && pattern[q] == b'^';
                    if not {
                        q += 1;
                    }
                    let mut matched = false;
                    loop {
                        if q >= pattern.len() {
                            // Unterminated class: Redis treats the end as closing it.
                            break;
                        }
                        if pattern[q] == b'\\' && q + 1 < pattern.len() {
                            q += 1;
                            if eq(pattern[q], s[i]) {
                                matched = true;
                            }
                        } else if pattern[q] == b']' {
                            break;
                        } else if q + 2 < pattern.len() && pattern[q + 1] == b'-' {
                            let (mut lo, mut hi) = (pattern[q], pattern[q + 2]);
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let c = s[i];
                            let hit = if nocase {
                                let c = c.to_ascii_lowercase();
                                c >= lo.to_ascii_lowercase() && c <= hi.to_ascii_lowercase()
                            } else {
                                c >= lo && c <= hi
                            };
                            if hit {
                                matched = true;
                            }
                            q += 2;
                        } else if eq(pattern[q], s[i]) {
                            matched = true;
                        }
                        q += 1;
                    }
                    if not {
                        matched = !matched;
                    }
                    if matched {
                        p = q.min(pattern.len());
                        if p < pattern.len() {
                            p += 1;
                        }
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() && i < s.len() && eq(pattern[p + 1], s[i]) => {
                    p += 2;
                    i += 1;
                    continue;
                }
                c if i < s.len()
                    && c != b'*'
                    && c != b'?'
                    && c != b'['
                    && c != b'\\'
                    && eq(c, s[i]) =>
                {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 == pattern.len() && i < s.len() && eq(b'\\', s[i]) => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        // Mismatch: backtrack to the last star, consuming one more character.
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"a\\*b", b"a*b", false));
        assert!(!glob_match(b"a\\*b", b"axb", false));
        assert!(glob_match(b"*-max-*", b"hash-max-listpack-entries", true));
        assert!(!glob_match(b"foo", b"foobar", false));
        assert!(glob_match(b"foo*", b"foo", false));
        assert!(glob_match(b"*", b"", false));
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"**", b"", false));
        assert!(!glob_match(b"?*", b"", false));
    }
}
