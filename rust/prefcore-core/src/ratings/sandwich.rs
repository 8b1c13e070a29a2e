//! The robust (sandwich) covariance `H⁻¹ G H⁻¹` of a fit, in the core: a Cholesky
//! factor and three matrix products on one thread, where a BLAS would start threads
//! that keep spinning after a call of a few milliseconds.

use crate::ratings::bradley_terry::cholesky;

/// `c = a b` for `p × p` row-major matrices.
fn product(a: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut c = vec![0.0; p * p];
    // SAFETY: all three matrices hold p × p values, row-major; the strides stay inside.
    unsafe {
        gemm::gemm(
            p,
            p,
            p,
            c.as_mut_ptr(),
            1,
            p as isize,
            false,
            a.as_ptr(),
            1,
            p as isize,
            b.as_ptr(),
            1,
            p as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    c
}

/// The inverse of a symmetric positive-definite `h` (`p × p`), None if it is not.
pub fn spd_inverse(h: &[f64], p: usize) -> Option<Vec<f64>> {
    let l = cholesky(h, p)?;
    // l⁻¹ by forward substitution, a row at a time: row i is
    // −(Σ_{k<i} l[i][k] · row k) / l[i][i], plus 1 / l[i][i] on the diagonal (rows
    // added whole, so the loop runs along memory).
    let mut inv_l = vec![0.0; p * p];
    for i in 0..p {
        let (done, rest) = inv_l.split_at_mut(i * p);
        let row = &mut rest[..p];
        for k in 0..i {
            let lik = l[i * p + k];
            for (r, v) in row[..=k].iter_mut().zip(&done[k * p..k * p + k + 1]) {
                *r -= lik * v;
            }
        }
        let d = l[i * p + i];
        row[..i].iter_mut().for_each(|r| *r /= d);
        row[i] = 1.0 / d;
    }
    let mut t = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            t[i * p + j] = inv_l[j * p + i];
        }
    }
    Some(product(&t, &inv_l, p))
}

/// `h⁻¹ g h⁻¹` for a symmetric positive-definite `h` and a symmetric `g`, both
/// `p × p` row-major; None if `h` is not positive definite.
pub fn robust_covariance(h: &[f64], g: &[f64], p: usize) -> Option<Vec<f64>> {
    let inv = spd_inverse(h, p)?;
    Some(product(&product(&inv, g, p), &inv, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_and_sandwich_of_a_hand_computed_case() {
        // h = [[2, 1], [1, 2]]: h⁻¹ = [[2, -1], [-1, 2]] / 3.
        let h = [2.0, 1.0, 1.0, 2.0];
        let inv = spd_inverse(&h, 2).unwrap();
        for (x, y) in inv.iter().zip([2.0, -1.0, -1.0, 2.0]) {
            assert!((x - y / 3.0).abs() < 1e-15);
        }
        // g = h gives h⁻¹ back.
        let cov = robust_covariance(&h, &h, 2).unwrap();
        for (x, y) in cov.iter().zip(&inv) {
            assert!((x - y).abs() < 1e-15);
        }
        // g = e₁e₁ᵀ: the outer product of h⁻¹'s first column.
        let cov = robust_covariance(&h, &[1.0, 0.0, 0.0, 0.0], 2).unwrap();
        for (x, y) in cov.iter().zip([4.0, -2.0, -2.0, 1.0]) {
            assert!((x - y / 9.0).abs() < 1e-15);
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn a_larger_inverse_is_the_identity_back() {
        let p = 37;
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                h[i * p + j] = if i == j {
                    p as f64
                } else {
                    1.0 / (1.0 + (i + j) as f64)
                };
            }
        }
        let eye = product(&h, &spd_inverse(&h, p).unwrap(), p);
        for i in 0..p {
            for j in 0..p {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((eye[i * p + j] - want).abs() < 1e-12);
            }
        }
    }
}
