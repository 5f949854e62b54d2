"""A population of small training tasks drawn from declared families (issue 14): the ground truth
and the range-test curves a learned reader of the curve is fitted and judged on."""
