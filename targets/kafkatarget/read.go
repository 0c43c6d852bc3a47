package kafkatarget

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// readCommitted calls fn with every committed record of topic, partition
// by partition in offset order, up to the high watermark each partition had
// when its read began.
//
// A consumer cannot tell "no more records" from "nothing yet", and in a
// transactional topic the last offsets are often control records it never
// sees. So this issues fetch requests itself and follows the offsets the
// broker reports: the read is done when the next offset reaches the end it
// started from. Offsets held back by a transaction still open (the last
// stable offset is below the end) are waited for, at most wait.
func readCommitted(ctx context.Context, client *kgo.Client, topic string, wait time.Duration, fn func(*kgo.Record) error) error {
	deadline := time.Now().Add(wait)
	details, err := listTopic(ctx, client, topic, deadline)
	if err != nil {
		return err
	}
	for _, p := range details.Partitions.Sorted() {
		if err := readPartition(ctx, client, details, p.Partition, deadline, fn); err != nil {
			return err
		}
	}
	return nil
}

// listTopic loads the topic's metadata, waiting for a topic created a
// moment ago to have a leader for every partition.
func listTopic(ctx context.Context, client *kgo.Client, topic string, deadline time.Time) (kadm.TopicDetail, error) {
	admin := kadm.NewClient(client)
	for attempt := 0; ; attempt++ {
		all, err := admin.ListTopics(ctx, topic)
		if err != nil {
			return kadm.TopicDetail{}, err
		}
		d, ok := all[topic]
		err = d.Err
		if !ok {
			err = kerr.UnknownTopicOrPartition
		}
		if err == nil {
			for _, p := range d.Partitions {
				if p.Leader < 0 {
					err = kerr.LeaderNotAvailable
				}
			}
		}
		if err == nil {
			return d, nil
		}
		if !kerr.IsRetriable(err) || time.Now().After(deadline) {
			return kadm.TopicDetail{}, fmt.Errorf("topic %s: %w", topic, err)
		}
		if err := pause(ctx, attempt); err != nil {
			return kadm.TopicDetail{}, err
		}
	}
}

func readPartition(ctx context.Context, client *kgo.Client, d kadm.TopicDetail, partition int32, deadline time.Time, fn func(*kgo.Record) error) error {
	leader := d.Partitions[partition].Leader
	var offset int64
	end := int64(-1)
	for attempt := 0; ; {
		rp, err := fetch(ctx, client, d, partition, leader, offset)
		if err != nil {
			return err
		}
		fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
			Offset: offset, IsolationLevel: kgo.ReadCommitted(), Topic: d.Topic, Partition: partition,
		}, rp, kgo.DefaultDecompressor(), nil)
		switch {
		case fp.Err == nil:
		case errors.Is(fp.Err, kerr.OffsetOutOfRange) && fp.LogStartOffset > offset:
			// Retention removed the beginning; nothing there to read.
			offset = fp.LogStartOffset
			continue
		case kerr.IsRetriable(fp.Err) && time.Now().Before(deadline):
			// Most likely a leader change: reload the leader and retry.
			fresh, lerr := listTopic(ctx, client, d.Topic, deadline)
			if lerr != nil {
				return lerr
			}
			leader = fresh.Partitions[partition].Leader
			if err := pause(ctx, attempt); err != nil {
				return err
			}
			attempt++
			continue
		default:
			return fmt.Errorf("fetch %s/%d at offset %d: %w", d.Topic, partition, offset, fp.Err)
		}
		if end < 0 {
			end = fp.HighWatermark
		}
		for _, r := range fp.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next > offset {
			offset, attempt = next, 0
		}
		if offset >= end {
			return nil
		}
		if fp.LastStableOffset <= offset {
			// A transaction still open holds back the rest.
			if time.Now().After(deadline) {
				return fmt.Errorf("%s/%d: a transaction has stayed open at offset %d (last stable offset) longer than the marker wait; the broker aborts it when its transaction timeout expires", d.Topic, partition, fp.LastStableOffset)
			}
			if err := pause(ctx, attempt); err != nil {
				return err
			}
			attempt++
		}
	}
}

// fetch asks the partition's leader for records from offset, read
// committed, without waiting for new data.
func fetch(ctx context.Context, client *kgo.Client, d kadm.TopicDetail, partition, leader int32, offset int64) (*kmsg.FetchResponseTopicPartition, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MaxBytes = 8 << 20
	req.IsolationLevel = 1 // read committed
	req.SessionEpoch = -1  // no fetch session
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = d.Topic
	rt.TopicID = d.ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 8 << 20
	rp.CurrentLeaderEpoch = -1
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := client.Broker(int(leader)).Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d from broker %d: %w", d.Topic, partition, leader, err)
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("fetch %s/%d from broker %d: %w", d.Topic, partition, leader, err)
	}
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if p := &resp.Topics[i].Partitions[j]; p.Partition == partition {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("fetch %s/%d from broker %d: the response has no such partition", d.Topic, partition, leader)
}

// pause backs off between retries: 10ms doubling to 320ms.
func pause(ctx context.Context, attempt int) error {
	d := 10 * time.Millisecond << min(attempt, 5)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
