import { useEffect, useRef } from "react";
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

export type Series = { label: string; values: number[]; color: string; kind?: "bar" | "line" };

// DailyChart draws stacked bars per day (event outcomes) and, on a second axis, lines (points).
export function DailyChart({ labels, series, ariaLabel }: { labels: string[]; series: Series[]; ariaLabel: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s) =>
          s.kind === "line"
            ? { type: "line" as const, label: s.label, data: s.values, borderColor: s.color, backgroundColor: s.color, yAxisID: "points", tension: 0.2, pointRadius: 2 }
            : { type: "bar" as const, label: s.label, data: s.values, backgroundColor: s.color, stack: "events", yAxisID: "events" },
        ),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true },
          events: { type: "linear", position: "left", stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          points: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
    return () => chart.destroy();
  }, [labels, series]);
  return <div className="chart"><canvas ref={canvas} role="img" aria-label={ariaLabel} /></div>;
}
