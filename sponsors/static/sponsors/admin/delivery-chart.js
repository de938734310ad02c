/* Delivery charts in the admin and the partner pages: impressions and clicks over time.
 *
 * Draws every <canvas data-delivery-chart="ID"> from the JSON in <script id="ID"> (written by
 * Django's json_script): {"labels": [...], "impressions": [...], "clicks": [...]}.
 * Uses the vendored Chart.js 4.6.1 (sponsors/vendor/chartjs), loaded before this file.
 */
(function () {
  "use strict";

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.deliveryChart);
    if (!source || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var text = styles.getPropertyValue("--body-fg").trim() || "#333";
    var grid = styles.getPropertyValue("--hairline-color").trim() || "#e8e8e8";
    var points = data.labels.length > 60 ? 0 : 2;
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          {
            label: "Impressions",
            data: data.impressions,
            borderColor: "#2f6fb0",
            backgroundColor: "rgba(47, 111, 176, 0.15)",
            fill: true,
            tension: 0.2,
            pointRadius: points,
            yAxisID: "impressions",
          },
          {
            label: "Clicks",
            data: data.clicks,
            borderColor: "#c0392b",
            backgroundColor: "#c0392b",
            tension: 0.2,
            pointRadius: points,
            yAxisID: "clicks",
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        color: text,
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { color: grid } },
          impressions: {
            position: "left",
            beginAtZero: true,
            title: { display: true, text: "Impressions", color: text },
            ticks: { color: text, precision: 0 },
            grid: { color: grid },
          },
          clicks: {
            position: "right",
            beginAtZero: true,
            title: { display: true, text: "Clicks", color: text },
            ticks: { color: text, precision: 0 },
            grid: { drawOnChartArea: false },
          },
        },
      },
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-delivery-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
