//! Compiles the small C helper for long double arithmetic (INCRBYFLOAT, HINCRBYFLOAT).
fn main() {
    println!("cargo:rerun-if-changed=src/c/ldouble.c");
    cc::Build::new()
        .file("src/c/ldouble.c")
        .opt_level(2)
        .compile("rustis_ldouble");
}
