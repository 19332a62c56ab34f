//! Outside bytes as the detection CSV (`epichain detect`): parsed and run through a method.
//! Never a panic; bad input is an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut output = Vec::new();
    let _ = epichain::detect_csv::run("ears", &[], 7, data, &mut output);
    let _ = epichain::detect_csv::run("cusum", &[], 52, data, &mut output);
});
