"""KPI reports per site, daily and weekly, as partitioned assets downstream of the marts they read:
lineage raw -> rollups -> marts -> reports. Thin: queries in `kpis`, files in `render`."""

import dagster as dg

from camcount.settings import camcount_home
from camcount_pipelines.partitions import DAILY, WEEKLY
from camcount_pipelines.reports import kpis, render
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.retries import STEP_RETRY


def _report_asset(period: str, partitions: dg.TimeWindowPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["reports", f"{period}_kpis"],
        deps=[dg.AssetKey(["marts", model]) for model in kpis.REPORT_MARTS],
        partitions_def=partitions,
        group_name="reports",
        kinds={"html", "csv"},
        description=f"{period.capitalize()} KPI report per site: totals, peak hour, occupancy, dwell, trend, "
        "completeness; HTML + PNG + CSV.",
        retry_policy=STEP_RETRY,
    )
    def _asset(context: dg.AssetExecutionContext, timescale: TimescaleResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        first, last = window.start.date(), window.end.date()
        sections, paths = [], {}
        with timescale.connection() as conn:
            for site in kpis.sites_with_data(conn, first, last):
                folder, figures = render.render_site_report(conn, site, period, first, last)
                paths[site] = str(folder / "report.html")
                sections.append(render.markdown_summary(site, figures.row(0, named=True), folder / "hourly.png"))
        return dg.MaterializeResult(
            metadata={
                "sites": len(paths),
                "reports": dg.MetadataValue.json(paths),
                "path": dg.MetadataValue.path(str(camcount_home() / "reports" / period / first.isoformat())),
                "summary": dg.MetadataValue.md("\n\n".join(sections) or "no data in this period"),
            }
        )

    return _asset


daily_report = _report_asset("daily", DAILY)
weekly_report = _report_asset("weekly", WEEKLY)
