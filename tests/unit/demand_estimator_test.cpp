// DemandEstimator with injected time: what it learns from running totals.
#include <gtest/gtest.h>

#include "scaler/scheduler/scaling/demand_estimator.h"

using namespace scaler::scheduler;

namespace {
// Feeds `perSecond` arrivals (and as many runs of `duration`) every second from `from` to `to`.
void feed(DemandEstimator& e, DemandCounters& totals, double from, double to, double perSecond,
          double duration = 1) {
    for (double t = from; t <= to + 1e-9; t += 1) {
        totals.arrivals += static_cast<uint64_t>(perSecond);
        totals.timedRuns += static_cast<uint64_t>(perSecond);
        totals.runSeconds += perSecond * duration;
        e.observe(0, totals, t);
    }
}
}  // namespace

TEST(DemandEstimator, LearnsASteadyRateAndRunTime) {
    DemandEstimator e(60);
    DemandCounters totals;
    feed(e, totals, 0, 600, 10, 0.25);
    const DemandEstimate d = e.estimate(0, 600);
    EXPECT_NEAR(d.arrivalRate, 10, 0.2);
    EXPECT_NEAR(d.rateTrend, 0, 0.01);
    EXPECT_DOUBLE_EQ(d.meanDurationSeconds, 0.25);
    EXPECT_EQ(d.observedRunTimes, 6010u);
    EXPECT_DOUBLE_EQ(d.quietSeconds, 0);
}

TEST(DemandEstimator, FollowsARampWithAPositiveTrend) {
    DemandEstimator e(60);
    DemandCounters totals;
    for (int t = 0; t <= 300; ++t) {
        totals.arrivals += static_cast<uint64_t>(t / 10);  // +0.1/s every second
        e.observe(0, totals, t);
    }
    const DemandEstimate d = e.estimate(0, 300);
    EXPECT_NEAR(d.rateTrend, 0.1, 0.03);
    EXPECT_GT(d.arrivalRate + d.rateTrend * 60, 28);  // the trend makes up the level's lag
}

TEST(DemandEstimator, RemembersHowLongItWentQuietBeforeTasksCameBack) {
    DemandEstimator e(60);
    DemandCounters totals;
    feed(e, totals, 0, 5, 100);
    EXPECT_DOUBLE_EQ(e.estimate(0, 12).quietSeconds, 7);
    EXPECT_DOUBLE_EQ(e.estimate(0, 12).longestQuietSeconds, 0);  // never came back yet
    e.observe(0, totals, 10);
    e.observe(0, totals, 15);
    feed(e, totals, 20, 22, 100);  // back: quiet from 5 to the start of the step that saw them (15)
    EXPECT_NEAR(e.estimate(0, 22).longestQuietSeconds, 10, 0.1);
    // and the run times of a burst do not drown the mean in one step: a long task moves it 5% per run
    totals.timedRuns += 1;
    totals.runSeconds += 21;
    e.observe(0, totals, 23);
    EXPECT_NEAR(e.estimate(0, 23).meanDurationSeconds, 2, 1e-9);
}

TEST(DemandEstimator, ShortStepsWaitSoARateIsNotOneMessage) {
    DemandEstimator e(60);
    DemandCounters totals;
    e.observe(0, totals, 0);
    totals.arrivals = 50;
    e.observe(0, totals, 0.1);  // too soon: folded in with the next step
    EXPECT_DOUBLE_EQ(e.estimate(0, 0.1).arrivalRate, 0);
    e.observe(0, totals, 1);
    EXPECT_GT(e.estimate(0, 1).arrivalRate, 0);
    EXPECT_DOUBLE_EQ(e.estimate(7, 1).arrivalRate, 0);  // a set never observed
}
