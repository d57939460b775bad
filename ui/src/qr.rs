//! A text as a QR code drawn as inline SVG (`qrcode` encodes the module matrix; this module
//! draws each row's runs of dark modules as `<rect>`s with a quiet zone around them). Used for
//! the invite code, so a phone or a second laptop's camera can read it.

use qrcode::{Color, EcLevel, QrCode};
use yew::prelude::*;

/// Modules of white border on each side (the QR standard's quiet zone).
const QUIET: usize = 4;

/// A run of dark modules in one row: column, row, length.
pub type Run = (usize, usize, usize);

/// The matrix width and its dark runs, or None when the text does not fit in a QR code.
pub fn runs(text: &str) -> Option<(usize, Vec<Run>)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L))
        .ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut out = Vec::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                out.push((start, y, x - start));
            } else {
                x += 1;
            }
        }
    }
    Some((width, out))
}

/// The QR code of `text` as an `<svg id={id}>`, or None when it does not fit.
pub fn svg(text: &str, id: &'static str, title: &str) -> Option<Html> {
    let (width, runs) = runs(text)?;
    let side = width + 2 * QUIET;
    let view = format!("0 0 {side} {side}");
    Some(html! {
        <svg id={id} class="invite-qr" xmlns="http://www.w3.org/2000/svg" viewBox={view}
            shape-rendering="crispEdges" role="img" aria-label={title.to_owned()}>
            <rect x="0" y="0" width={side.to_string()} height={side.to_string()} fill="#ffffff" />
            { for runs.into_iter().map(|(x, y, len)| html! {
                <rect x={(x + QUIET).to_string()} y={(y + QUIET).to_string()}
                    width={len.to_string()} height="1" fill="#000000" />
            }) }
        </svg>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_dark_modules_and_stay_inside() {
        let (width, runs) = runs("KRZINV1-abcdef@/ip4/192.168.1.10/tcp/4001").unwrap();
        assert!(width >= 21);
        assert!(!runs.is_empty());
        for (x, y, len) in &runs {
            assert!(*len >= 1 && x + len <= width && *y < width);
        }
        // The top-left finder pattern starts with a run of seven dark modules.
        assert_eq!(runs[0], (0, 0, 7));
    }

    #[test]
    fn a_text_too_long_for_any_qr_code_has_none() {
        assert!(runs(&"x".repeat(5000)).is_none());
    }
}
