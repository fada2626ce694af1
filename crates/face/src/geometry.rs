//! Points and rectangles in image pixel coordinates.

/// A point in pixel coordinates (x to the right, y down).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

/// A rectangle with *inclusive* integer bounds, as dlib's `rectangle`:
/// `right = left + width - 1`. Boxes compared with the reference use this form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

impl Rect {
    pub fn new(left: i64, top: i64, right: i64, bottom: i64) -> Self {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    pub fn width(&self) -> i64 {
        (self.right - self.left + 1).max(0)
    }

    pub fn height(&self) -> i64 {
        (self.bottom - self.top + 1).max(0)
    }

    pub fn area(&self) -> i64 {
        self.width() * self.height()
    }

    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }

    pub fn intersect(&self, other: &Rect) -> Rect {
        Rect::new(
            self.left.max(other.left),
            self.top.max(other.top),
            self.right.min(other.right),
            self.bottom.min(other.bottom),
        )
    }

    /// Intersection over union, 0 when either is empty.
    pub fn iou(&self, other: &Rect) -> f64 {
        let inter = self.intersect(other).area();
        let union = self.area() + other.area() - inter;
        if union <= 0 {
            0.0
        } else {
            inter as f64 / union as f64
        }
    }

    pub fn center(&self) -> Point {
        Point::new(
            (self.left + self.right) as f64 / 2.0,
            (self.top + self.bottom) as f64 / 2.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_bounds_and_iou() {
        let a = Rect::new(0, 0, 9, 9);
        assert_eq!(a.area(), 100);
        let b = Rect::new(5, 0, 14, 9);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(a.iou(&Rect::new(20, 20, 30, 30)), 0.0);
    }
}
