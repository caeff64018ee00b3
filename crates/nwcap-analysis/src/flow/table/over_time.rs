//! The flow table's traffic over time: how its new flows are classed and where its sums are
//! read. It owns these accessors; the sums and the classes are `flow::timeline`'s, and the
//! per-packet addition is in the table's accounting.

use super::FlowTable;
use crate::flow::timeline::{Classes, Grid, Timeline};

impl FlowTable {
    /// Sums traffic over time in intervals of `width` ns rather than in intervals that widen
    /// with the capture, its flows classed by `classes`. Call before the first packet.
    pub fn count_over_time(&mut self, width: Option<i64>, classes: Classes) {
        let grid = width.map_or(Grid::auto(), Grid::fixed);
        self.timeline = Timeline::on(grid);
        self.timeline.classes = classes;
    }

    /// The timeline's grid width, if it was asked for.
    pub fn fixed_width(&self) -> Option<i64> {
        let g = &self.timeline.grid;
        g.fixed.then_some(g.width)
    }

    /// Classes new flows by `classes` from now on (see [`super::timeline::Classes`]).
    pub fn set_classes(&mut self, classes: Classes) {
        self.timeline.classes = classes;
    }

    /// The timeline's grid.
    pub fn grid(&self) -> &Grid {
        &self.timeline.grid
    }

    /// The timeline's grid, to seed another table's with the time seen (see
    /// [`Grid::seen`]).
    pub fn grid_mut(&mut self) -> &mut Grid {
        &mut self.timeline.grid
    }

    /// The timeline's classes (to class the flows of another table alike).
    pub fn classes(&self) -> &Classes {
        &self.timeline.classes
    }

    /// The traffic over time of a settled table.
    ///
    /// # Panics
    /// As [`FlowTable::iter`].
    pub fn timeline(&self) -> &Timeline {
        self.check_settled();
        &self.timeline
    }
}
