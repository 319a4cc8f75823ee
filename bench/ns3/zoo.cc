// ns-3 reference runs for the algorithm zoo's fidelity benchmark (bench/zoo/run.ts): one bulk
// TCP flow over the dumbbell of dumbbell.h (one sender, one router, one receiver), with ns-3's own TcpBbr,
// TcpVegas or TcpDctcp (RED marking at K packets with ECN, for DCTCP). Prints one JSON line:
// goodput, utilisation, queueing delay at the bottleneck, drops/marks and cwnd statistics.
//
//   zoo --alg=bbr|vegas|dctcp|cubic|newreno --rateMbps=48 --rttMs=50 --bufferPkts=800
//       [--ecnK=20] --duration=30
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dumbbell.h"

using namespace ns3;

static std::vector<double> g_sojournMs;
static std::vector<double> g_cwndPkts;
static uint32_t g_cwnd = 0;
static Ptr<QueueDisc> g_qdisc;
static std::vector<double> g_queuePkts;

static void OnSojourn(Time t) { g_sojournMs.push_back(t.GetSeconds() * 1e3); }
static void OnCwnd(uint32_t, uint32_t now) { g_cwnd = now; }

static void Sample(double until, uint32_t segment) {
  g_cwndPkts.push_back(double(g_cwnd) / segment);
  g_queuePkts.push_back(g_qdisc->GetNPackets());
  if (Simulator::Now().GetSeconds() + 0.01 < until)
    Simulator::Schedule(MilliSeconds(10), &Sample, until, segment);
}

static void HookCwnd() {
  Config::ConnectWithoutContext("/NodeList/0/$ns3::TcpL4Protocol/SocketList/0/CongestionWindow",
                                MakeCallback(&OnCwnd));
}

static double Pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(q / 100.0 * v.size()));
  return v[i];
}

static double Mean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

int main(int argc, char **argv) {
  std::string alg = "bbr";
  double rateMbps = 48, rttMs = 50, duration = 30, warmup = 5;
  uint32_t bufferPkts = 400, ecnK = 0, segment = 1448;
  CommandLine cmd;
  cmd.AddValue("alg", "bbr, vegas, dctcp, cubic or newreno", alg);
  cmd.AddValue("rateMbps", "bottleneck rate, Mbit/s", rateMbps);
  cmd.AddValue("rttMs", "propagation RTT, ms", rttMs);
  cmd.AddValue("bufferPkts", "bottleneck buffer, packets", bufferPkts);
  cmd.AddValue("ecnK", "ECN marking threshold in packets (0: drop-tail, no ECN)", ecnK);
  cmd.AddValue("duration", "simulated seconds", duration);
  cmd.AddValue("warmup", "seconds excluded from the statistics", warmup);
  cmd.Parse(argc, argv);

  std::string tid = alg == "bbr"     ? "ns3::TcpBbr"
                    : alg == "vegas" ? "ns3::TcpVegas"
                    : alg == "dctcp" ? "ns3::TcpDctcp"
                    : alg == "cubic" ? "ns3::TcpCubic"
                                     : "ns3::TcpNewReno";
  dumbbell::SetTcpDefaults(tid, segment, 1 << 26);
  Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(1));
  Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(200)));
  if (alg == "bbr") Config::SetDefault("ns3::TcpSocketState::EnablePacing", BooleanValue(true));
  if (alg == "dctcp") Config::SetDefault("ns3::TcpSocketBase::UseEcn", StringValue("On"));

  char rate[32];
  std::snprintf(rate, sizeof rate, "%gMbps", rateMbps);
  dumbbell::Spec spec;
  spec.accessRate = DataRate("10Gbps");
  spec.accessDelay = MicroSeconds(1);
  spec.rate = DataRate(rate);
  spec.bottleneckDelay = MicroSeconds(int64_t(rttMs * 500));
  spec.deviceQueue = "1p"; // the queue disc below is the buffer
  char size[32];
  std::snprintf(size, sizeof size, "%up", bufferPkts);
  dumbbell::Net net = dumbbell::Build(spec, [&](NetDeviceContainer &d) {
    TrafficControlHelper tc;
    if (ecnK > 0) {
      tc.SetRootQueueDisc("ns3::RedQueueDisc", "MaxSize", StringValue(size), "UseEcn", BooleanValue(true),
                          "UseHardDrop", BooleanValue(false), "MinTh", DoubleValue(ecnK), "MaxTh",
                          DoubleValue(ecnK), "QW", DoubleValue(1.0), "MeanPktSize",
                          UintegerValue(segment + 52), "LinkBandwidth", StringValue(rate), "LinkDelay",
                          TimeValue(MicroSeconds(int64_t(rttMs * 500))));
    } else {
      tc.SetRootQueueDisc("ns3::FifoQueueDisc", "MaxSize", StringValue(size));
    }
    QueueDiscContainer qd = tc.Install(d.Get(0));
    g_qdisc = qd.Get(0);
  });
  g_qdisc->TraceConnectWithoutContext("SojournTime", MakeCallback(&OnSojourn));
  Ptr<PacketSink> ps = dumbbell::BulkFlows(net)[0];
  Simulator::Schedule(MilliSeconds(1), &HookCwnd);

  // statistics over [warmup, duration]
  uint64_t rxAtWarmup = 0;
  Simulator::Schedule(Seconds(warmup), [&]() {
    rxAtWarmup = ps->GetTotalRx();
    g_sojournMs.clear();
    Sample(duration, segment);
  });
  QueueDisc::Stats atWarmup;
  Simulator::Schedule(Seconds(warmup), [&]() { atWarmup = g_qdisc->GetStats(); });
  Simulator::Stop(Seconds(duration));
  Simulator::Run();

  double secs = duration - warmup;
  double goodput = double(ps->GetTotalRx() - rxAtWarmup) * 8 / secs;
  // wire bytes per payload byte: 52 bytes of IP + TCP (timestamps) headers per segment, + 2 PPP
  double wire = goodput * (segment + 54) / segment;
  QueueDisc::Stats st = g_qdisc->GetStats();
  uint64_t drops = st.nTotalDroppedPackets - atWarmup.nTotalDroppedPackets;
  uint64_t marks = st.nTotalMarkedPackets - atWarmup.nTotalMarkedPackets;
  std::printf(
      "{\"alg\":\"%s\",\"goodputMbps\":%.3f,\"utilisation\":%.4f,\"qdelayMeanMs\":%.3f,\"qdelayP95Ms\":%.3f,"
      "\"queueMeanPkts\":%.2f,\"drops\":%llu,\"marks\":%llu,\"cwndMeanPkts\":%.2f,\"cwndP5Pkts\":%.2f,"
      "\"cwndP95Pkts\":%.2f}\n",
      alg.c_str(), goodput / 1e6, wire / (rateMbps * 1e6), Mean(g_sojournMs), Pct(g_sojournMs, 95),
      Mean(g_queuePkts), (unsigned long long)drops, (unsigned long long)marks, Mean(g_cwndPkts),
      Pct(g_cwndPkts, 5), Pct(g_cwndPkts, 95));
  Simulator::Destroy();
  return 0;
}
