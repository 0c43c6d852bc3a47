package rollout

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flamingock/flamingock-go/targets/s3target"
)

// PublishUserReport writes a JSON report of the users and their status to
// the reports bucket. It reads the user database through the *sql.DB the
// application registers, after change 0003 added the column.
//
//flamingock:change id=publish-user-report author=analytics target=reports transactional=false
func PublishUserReport(ctx context.Context, client *s3.Client, bucket s3target.Bucket, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT email, status FROM users ORDER BY email`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type user struct {
		Email  string `json:"email"`
		Status string `json:"status"`
	}
	var users []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.Email, &u.Status); err != nil {
			return err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"users": users})
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket.Name), Key: aws.String(ReportKey),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
	})
	return err
}

// DeleteUserReport undoes a failed PublishUserReport.
//
//flamingock:rollback publish-user-report
func DeleteUserReport(ctx context.Context, client *s3.Client, bucket s3target.Bucket, db *sql.DB) error {
	_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket.Name), Key: aws.String(ReportKey)})
	return err
}
